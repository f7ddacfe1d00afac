// What `highlight.js` is in dist/ (scripts/build.mjs points the import there): its core with the
// languages a support answer's code blocks are in. The whole package registers about 190
// languages when it loads, which was a 2.3 MB chunk and about 100 ms of CPU for every `ask` and
// `chat`; a code block in another language prints unhighlighted. The sources (tsx, tests) use the
// whole package.
const hljs = require("highlight.js/lib/core");

for (const name of ["bash", "shell", "json", "javascript", "typescript", "python", "sql", "yaml", "xml", "http", "ini", "css", "diff", "markdown", "plaintext"]) {
  hljs.registerLanguage(name, require(`highlight.js/lib/languages/${name}`));
}
module.exports = hljs;
