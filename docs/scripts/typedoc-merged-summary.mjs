/**
 * A TypeDoc plugin: a package with several entry points whose root entry
 * merges into the package page (`@mergeModuleWith <project>`) keeps that
 * entry's summary on the package page (TypeDoc moves its exports but drops
 * its comment).
 */
import { Comment, Converter, ReflectionKind } from "typedoc";

/** @param {import("typedoc").Application} app */
export function load(app) {
  app.converter.on(
    Converter.EVENT_RESOLVE_BEGIN,
    (context) => {
      const { project } = context;
      for (const module of project.getReflectionsByKind(ReflectionKind.Module)) {
        const tag = module.comment?.getTag("@mergeModuleWith");
        if (tag && Comment.combineDisplayParts(tag.content) === "<project>" && !project.comment) {
          project.comment = module.comment.clone();
          project.comment.removeTags("@mergeModuleWith");
        }
      }
    },
    // Before TypeDoc's own merge (priority 10000) removes the module.
    20_000,
  );
}
