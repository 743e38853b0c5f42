// Content scripts cannot be ES modules: this classic script only loads the
// real one (src/content/main.js) as a module from the extension's own files.
(() => {
  const api = globalThis.browser ?? globalThis.chrome;
  import(api.runtime.getURL("src/content/main.js"))
    .then((module) => module.start())
    .catch(() => {
      // The extension was reloaded or removed under this page: nothing to do.
    });
})();
