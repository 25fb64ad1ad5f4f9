import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readPassword } from '../../../../cli/remote/inputs';

/** A stdin that says it is a terminal and records every raw-mode switch and prompt, in order. */
function terminal(): PassThrough & { isTTY: boolean; setRawMode: (on: boolean) => void; log: string[] } {
  const stream = new PassThrough() as PassThrough & {
    isTTY: boolean;
    setRawMode: (on: boolean) => void;
    log: string[];
  };
  stream.isTTY = true;
  stream.log = [];
  stream.setRawMode = (on) => void stream.log.push(`raw ${on}`);
  return stream;
}

describe('reading a password', () => {
  it('on a terminal: echo off before the prompt, backspace honoured, echo back on after Enter', async () => {
    const stdin = terminal();
    const reading = readPassword(stdin, (text) => stdin.log.push(`prompt ${JSON.stringify(text)}`));
    stdin.write('hunter3\u007f2\r');
    await expect(reading).resolves.toBe('hunter2');
    expect(stdin.log).toEqual(['raw true', 'prompt "Password: "', 'raw false', 'prompt "\\n"']);
  });

  it('on a terminal: Ctrl-C cancels and restores the terminal', async () => {
    const stdin = terminal();
    const reading = readPassword(stdin, () => undefined);
    stdin.write('abc\u0003');
    await expect(reading).rejects.toThrow('cancelled');
    expect(stdin.log.at(-1)).toBe('raw false');
  });

  it('from a pipe: the whole input, one trailing newline removed; empty is refused', async () => {
    const piped = new PassThrough();
    piped.end('pass word\n');
    await expect(readPassword(piped, () => undefined)).resolves.toBe('pass word');
    const empty = new PassThrough();
    empty.end('\n');
    await expect(readPassword(empty, () => undefined)).rejects.toThrow(
      'the password read from stdin is empty',
    );
  });
});
