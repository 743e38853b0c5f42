// The content script's entry point, bundled with everything it imports into one
// classic script, src/content.bundle.js (`npm run bundle`): content scripts
// cannot be ES modules, and loading modules from the extension would make its
// files web-accessible, so any page could detect the extension by fetching them.
import { start } from "./main.js";

start().catch(() => {
  // The extension was reloaded or removed under this page: nothing to do.
});
