/** `passerelle directory load / find / loads` as a user runs them (compiled CLI, `npm run build` first), on a SQLite store. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MSSANTE_HEADER, PERSONS_FILE, PERSON_HEADER, header, mailboxLine, personLine, writeExtraction, writeZip } from './extraction-files';
import { runCli, type CliResult } from '../support/cli';

let dir: string;
let store: string;

const cli = (...args: string[]): Promise<CliResult> => runCli([...args, '--store', store], { cwd: dir, env: { ...process.env, PASSERELLE_LOG_LEVEL: 'warn' } });

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'psl-dir-cli-'));
  store = `sqlite:${path.join(dir, 'store', 'messages.db')}`;
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('load a zip of persons and a MSSanté file, then find a prescriber; a bad file leaves the directory', async () => {
  const persons = [header(PERSON_HEADER), personLine({ rpps: '10003456789', last: 'DUPONT', first: 'JEAN', structure: 'CABINET DUPONT', city: 'Paris' }), 'broken|line|', personLine({ rpps: '10003456790', last: 'MARTIN', first: 'CLAIRE' })];
  const zip = writeZip(dir, 'PS_LibreAcces_202612070000.zip', { [PERSONS_FILE]: persons.join('\n') + '\n' });
  const loaded = await cli('directory', 'load', zip);
  expect(loaded.stderr).toBe('');
  expect(loaded.code).toBe(0);
  expect(loaded.stdout).toMatch(new RegExp(`^PS_LibreAcces_202612070000\\.zip!${PERSONS_FILE}: persons, 3 lines, 1 rejected, \\d+\\.\\d s, 0 no longer listed \\(inactive\\)\\n  line 3: 2 fields where the header has ${PERSON_HEADER.length}\\n$`));

  const mss = writeExtraction(dir, 'bal.txt', [header(MSSANTE_HEADER), mailboxLine({ type: 'PER', address: 'jean.dupont@test.mssante.fr', rpps: '10003456789' })], 'latin1');
  const m = await cli('directory', 'load', mss, '--kind', 'mssante');
  expect(m.stdout).toMatch(/^bal\.txt: mssante, 1 lines, 0 rejected/);

  const found = await cli('directory', 'find', '10003456789');
  expect(found.code).toBe(0);
  expect(found.stdout).toBe(
    '810003456789\tDocteur JEAN DUPONT\tMédecin (10)\nactive\n  activity: CABINET DUPONT, Paris, Médecine générale\n  mssante: jean.dupont@test.mssante.fr (PER, CABINET TEST) ← used\n',
  );
  const unknown = await cli('directory', 'find', '10009999999');
  expect(unknown.code).toBe(1);
  expect(unknown.stdout).toMatch(/^RPPS unknown to the directory \(loaded \d{4}-\d{2}-\d{2}\)\n  no MSSanté mailbox\n$/);

  // A reload without MARTIN: inactive, still found.
  await cli('directory', 'load', writeExtraction(dir, PERSONS_FILE, [persons[0]!, persons[1]!]));
  expect((await cli('directory', 'find', '810003456790')).stdout).toMatch(/^810003456790\tDocteur CLAIRE MARTIN\tMédecin \(10\)\ninactive since \d{4}-\d{2}-\d{2}\n/);

  const bad = await cli('directory', 'load', writeExtraction(dir, 'x.txt', ['a|b|', '1|2|']));
  expect(bad.code).toBe(1);
  expect(bad.stderr).toMatch(/x\.txt: neither the name nor the header says which extraction this is \(give --kind\)\nthe directory in place is unchanged/);
  const loads = await cli('directory', 'loads');
  expect(loads.stdout.trim().split('\n').map((l) => l.split('\t').slice(1, 3))).toEqual([['persons', 'done'], ['mssante', 'done'], ['persons', 'done']]);
});
