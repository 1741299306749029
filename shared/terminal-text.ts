/**
 * Text from a repository (file names, commit messages, template values, error messages that quote them) can carry
 * terminal escapes: OSC 52 writes the reader's clipboard, cursor moves and erases rewrite lines already printed, a
 * carriage return hides what came before it on the line. Everything printed to a terminal passes through
 * `terminalSafe` first: control characters are removed except line feed and tab, and so are the Unicode bidirectional
 * overrides that make text read differently from what it is.
 *
 * Our own colours survive: the plain SGR sequences the CLI and the event console emit (`ESC [ n m` with a colour, dim,
 * bold or reset). A repository can at worst colour its own text; it cannot conceal, move, erase or run anything.
 */

/**
 * SGR codes the project itself emits (its own colours and the template diff's, through chalk): reset, bold, dim,
 * italic, underline and their ends, foreground colours, bright foreground colours. Never conceal (8) or reverse (7).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what this module is for
const OWN_SGR = /^\x1b\[(?:[0-4]|2[2-4]|3[0-9]|9[0-7])m/;
/** C0 controls except tab and line feed, DEL, C1 controls, and the bidi embeddings, overrides and isolates. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what this module is for
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what this module is for
const CONTROL_GLOBAL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

/** The text without control characters (line feed and tab kept), and without escapes other than our colours. */
export function terminalSafe(text: string): string {
  if (!CONTROL.test(text)) return text;
  let out = '';
  let from = 0;
  for (let i = text.indexOf('\x1b'); i !== -1; i = text.indexOf('\x1b', i + 1)) {
    const own = OWN_SGR.exec(text.slice(i, i + 8));
    if (!own) continue;
    out += text.slice(from, i).replace(CONTROL_GLOBAL, '') + own[0];
    from = i + own[0].length;
    i = from - 1;
  }
  return out + text.slice(from).replace(CONTROL_GLOBAL, '');
}

/** Repository text for one line of a terminal: controls removed and line breaks folded into spaces. */
export function terminalLine(text: string): string {
  // split/trim rather than /\s*\n\s*/, which is quadratic on a long run of spaces.
  const lines = terminalSafe(text).split('\n');
  return lines.length === 1 ? lines[0]! : lines.map((line, i) => (i === 0 ? line.trimEnd() : line.trim())).join(' ');
}

/** A writer that makes every chunk terminal-safe before it reaches the stream. */
export function terminalWriter(stream: { write(chunk: string): unknown }): { write(chunk: string): unknown } {
  return { write: (chunk: string) => stream.write(terminalSafe(chunk)) };
}
