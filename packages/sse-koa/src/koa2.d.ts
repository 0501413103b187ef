// Tests run against koa 2 too, installed under the alias "koa2"; its API is
// the part of koa 3's that the tests use.
declare module "koa2" {
  import Koa from "koa";
  export default Koa;
}
