/**
 * A password for `ticket` and `user password`: WA_PASSWORD, else a line typed at the terminal (not echoed), else
 * stdin to its end (a pipe). Empty is refused with a message saying no password was given and how to give one.
 */
import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';

export async function readPassword(what: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  let password: string;
  if (env.WA_PASSWORD !== undefined) password = env.WA_PASSWORD;
  else if (process.stdin.isTTY) password = await askHidden(`${what}: `);
  else password = (await readAll(process.stdin)).replace(/\r?\n$/, '');
  if (password.trim() === '') {
    throw new Error(`no password was given for the ${what}: set WA_PASSWORD, type it at the prompt, or pipe it on stdin`);
  }
  return password;
}

export async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks).toString('utf8');
}

async function askHidden(prompt: string): Promise<string> {
  process.stderr.write(prompt);
  // readline echoes what is typed to its output; give it one that drops everything.
  const silent = new Writable({ write: (_chunk, _enc, done) => done() });
  const rl = createInterface({ input: process.stdin, output: silent, terminal: true });
  try {
    return await rl.question('');
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}
