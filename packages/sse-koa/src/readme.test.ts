import { describeQuickStart } from "@burrow/test-utils";

describeQuickStart(new URL("..", import.meta.url), 405);
