/**
 * Asks a yes/no question on the terminal before a destructive CLI command. Without a terminal on stdin (a script,
 * a pipe) nobody can answer, so it refuses and says to pass --yes rather than reading a "y" from a pipe.
 */
import { createInterface } from 'node:readline/promises';

export async function confirm(question: string, io: { input?: NodeJS.ReadStream; output?: NodeJS.WriteStream } = {}): Promise<boolean> {
  const input = io.input ?? process.stdin;
  const output = io.output ?? process.stderr;
  if (!input.isTTY) {
    output.write(`${question}\nstdin is not a terminal, so nobody can answer: pass --yes to go ahead. Nothing was changed.\n`);
    return false;
  }
  const rl = createInterface({ input, output });
  try {
    const answer = (await rl.question(`${question} [y/N] `)).trim().toLowerCase();
    const yes = answer === 'y' || answer === 'yes';
    if (!yes) output.write('Nothing was changed.\n');
    return yes;
  } finally {
    rl.close();
  }
}
