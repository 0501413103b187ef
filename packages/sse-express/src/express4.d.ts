// Tests run against express 4 too, installed under the alias "express4";
// its API is the part of express 5's that the tests use.
declare module "express4" {
  import express from "express";
  export default express;
}
