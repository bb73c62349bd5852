#!/usr/bin/env node
import { Command } from 'commander';
import { engineConfigFromEnv } from '../config/engine-config';
import { createLogger } from '../runtime/logger';
import { Engine } from '../engine';
import { errorCodeOf } from '../errors';
import { Console } from '../ops/console';
import { consoleConfigFromEnv } from '../ops/config';
import { API_ROUTES } from '../ops/api';
import { WEB_ROUTES } from '../ops/web';
import { userAddCommand, userDisableCommand, userListCommand, userPasswdCommand, userRevokeTokenCommand, userTokenCommand } from './user-commands';
import { checkCommand, parseCommand, sendCommand } from './commands';
import { discardCommand, messagesCommand, reprocessCommand } from './ops-commands';
import { publishCommand, releaseCommand, reportCommand } from './report-commands';
import { cancelCommand, deliveriesCommand, retryCommand } from './delivery-commands';
import { xdmCommand } from './xdm-command';
import { kitCommand, renderCommand, schematronCompileCommand, validateCommand } from './document-commands';
import { retentionCommand } from './retention-command';
import { directoryFindCommand, directoryLoadCommand, directoryLoadsCommand } from './directory-command';
import { loincExportCommand, loincImportCommand, loincSetCommand, type LoincImportOptions } from './loinc-command';

const program = new Command();
program.name('passerelle').description('Passerelle integration engine for French medical biology');

program
  .command('start')
  .description('start the engine with the channels of a directory')
  .option('-c, --channels <dir>', 'channel files directory (env PASSERELLE_CHANNELS, default channels)')
  .option('--role <role>', 'all | listener | worker (env PASSERELLE_ROLE)')
  .option('--store <url>', 'sqlite:<path> or postgres://… (env PASSERELLE_STORE)')
  .option('--redis <url>', 'Redis URL (env REDIS_URL)')
  .action(async (opts: { channels?: string; role?: 'all' | 'listener' | 'worker'; store?: string; redis?: string }) => {
    const overrides = Object.fromEntries(
      Object.entries({ channelsDir: opts.channels, role: opts.role, store: opts.store, redisUrl: opts.redis }).filter(([, v]) => v !== undefined),
    );
    const config = engineConfigFromEnv(process.env, overrides);
    // Console settings are checked before anything starts: a bad one stops the start at once.
    const consoleConfig = consoleConfigFromEnv(process.env);
    const logger = createLogger({ level: config.logLevel, file: config.logFile || undefined });
    const engine = new Engine(config, logger);
    const opsConsole = new Console({
      config: consoleConfig,
      engineConfig: config,
      engine,
      get store() {
        return engine.messageStore; // opened by engine.start(), before the console starts
      },
      logger,
      routes: [...API_ROUTES, ...WEB_ROUTES],
    });
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      logger.info(`${signal}: draining`, { ms: config.drainDeadlineMs });
      const hard = setTimeout(() => process.exit(1), config.drainDeadlineMs + consoleConfig.closeDeadlineMs + 5000);
      hard.unref();
      // The console first: no operator action lands on an engine that is draining.
      opsConsole
        .stop()
        .catch((e) => logger.error('console stop failed', { error: (e as Error).message }))
        .then(() => engine.stop())
        .then(
        () => process.exit(0),
        (e) => {
          logger.error('stop failed', { error: (e as Error).message });
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => {
      logger.info('SIGHUP: reloading TLS certificates');
      engine.reloadTls();
    });
    try {
      await engine.start();
    } catch (e) {
      process.stderr.write(`passerelle: ${(e as Error).message}\n`);
      await engine.stop().catch(() => undefined);
      process.exit(2);
    }
    try {
      await opsConsole.start();
    } catch (e) {
      // Messages must not wait on the console: an address in use (several engine processes on
      // one host) or an unreachable console store leaves the engine running without it.
      logger.error('console not started; the engine runs without it', { code: errorCodeOf(e), error: (e as Error).message });
    }
  });

program
  .command('send')
  .description('send HL7 files (or every *.hl7 of a directory) over MLLP and print each ACK')
  .argument('<path>', 'file or directory')
  .requiredOption('--to <url>', 'destination, e.g. mllp://127.0.0.1:2575')
  .option('--timeout <ms>', 'ACK timeout', '30000')
  .action(async (path: string, opts: { to: string; timeout: string }) => {
    process.exitCode = await sendCommand(path, opts.to, Number(opts.timeout));
  });

program
  .command('parse')
  .description('pretty-print an HL7 message with the path of every value')
  .argument('<file>')
  .action((file: string) => {
    process.exitCode = parseCommand(file);
  });

program
  .command('check')
  .description('validate channel files; prints file:line for each problem')
  .argument('[dir]', 'channel files directory', 'channels')
  .action((dir: string) => {
    process.exitCode = checkCommand(dir);
  });

program
  .command('messages')
  .description("list a channel's messages from the store (state counts, then newest first)")
  .argument('<channel>')
  .option('--state <state>', 'received | processing | routed | done | filtered | refused | dead')
  .option('--limit <n>', 'how many', '50')
  .action(async (channel: string, opts: { state?: string; limit: string }) => {
    process.exitCode = await messagesCommand(channel, opts.state, Number(opts.limit));
  });

program
  .command('report')
  .description('a report across messages: its versions, observations with their history, pending tests, parked results')
  .argument('<filler-order>', 'filler order number (OBR-3), e.g. LAB-0001')
  .option('--lab <lab>', 'filling lab (OBR-3 namespace) when several labs use the number')
  .action(async (filler: string, opts: { lab?: string }) => {
    process.exitCode = await reportCommand(filler, opts.lab);
  });

program
  .command('deliveries')
  .description('deliveries of report versions (DMP, MSSanté, PFI): queued, sent, held (fails the full ANS set, or no address / no qualified INS) or dead, newest first')
  .option('--state <state>', 'queued | sent | held | dead')
  .option('--report <filler-order>', 'one report (filler order number)')
  .option('--limit <n>', 'at most n rows (default 100)')
  .action(async (opts: { state?: string; report?: string; limit?: string }) => {
    process.exitCode = await deliveriesCommand(opts);
  });

program
  .command('retry')
  .description('queue a dead delivery again (id <filler order>/v<version>/<target>, as `deliveries` prints it)')
  .argument('<delivery-id>')
  .action(async (id: string) => {
    process.exitCode = await retryCommand(id);
  });

program
  .command('cancel')
  .description('give up a delivery not yet sent (queued, held or dead)')
  .argument('<delivery-id>')
  .action(async (id: string) => {
    process.exitCode = await cancelCommand(id);
  });

const user = program.command('user').description('console users and API tokens (in the store PASSERELLE_STORE names; every change audited)');
user
  .command('add')
  .description('create a console user; without --password-stdin a password is generated, printed once, and must be changed at first login')
  .argument('<name>')
  .requiredOption('--role <role>', 'viewer | operator | admin')
  .option('--password-stdin', 'read the password from the first line of standard input')
  .action(async (name: string, opts: { role: string; passwordStdin?: boolean }) => {
    process.exitCode = await userAddCommand(name, opts);
  });
user
  .command('passwd')
  .description("set a user's password (generated and printed when not given); their sessions end")
  .argument('<name>')
  .option('--password-stdin', 'read the password from the first line of standard input')
  .action(async (name: string, opts: { passwordStdin?: boolean }) => {
    process.exitCode = await userPasswdCommand(name, opts);
  });
user
  .command('list')
  .description('users with their role and state, then API tokens')
  .action(async () => {
    process.exitCode = await userListCommand();
  });
user
  .command('disable')
  .description('disable a user: sessions end, tokens stop working (never the last enabled admin)')
  .argument('<name>')
  .action(async (name: string) => {
    process.exitCode = await userDisableCommand(name, true);
  });
user
  .command('enable')
  .description('enable a disabled user again')
  .argument('<name>')
  .action(async (name: string) => {
    process.exitCode = await userDisableCommand(name, false);
  });
user
  .command('token')
  .description("create an API token of a user (role at most theirs); printed once on standard output")
  .argument('<name>')
  .option('--label <label>', 'what it is for, e.g. prometheus')
  .option('--role <role>', 'viewer | operator | admin (default: the user\'s)')
  .action(async (name: string, opts: { label?: string; role?: string }) => {
    process.exitCode = await userTokenCommand(name, opts);
  });
user
  .command('revoke-token')
  .description('revoke an API token by its id (as `user list` shows it)')
  .argument('<id>')
  .action(async (id: string) => {
    process.exitCode = await userRevokeTokenCommand(id);
  });

program
  .command('xdm')
  .description('the IHE_XDM.ZIP of a written version (its N3 and N1, METADATA.XML), as an MSSanté mail carries it')
  .argument('<version-dir>', 'a version folder, e.g. var/out/documents/LAB-0001/v1')
  .requiredOption('--out <file>', 'where to write the zip')
  .option('--lab <file>', 'lab profile (default channels/labs/laboratoire-demo.yaml)')
  .option('--profile <p>', 'pro (default) or patient')
  .action((dir: string, opts: { out: string; lab?: string; profile?: string }) => {
    process.exitCode = xdmCommand(dir, opts);
  });

program
  .command('publish')
  .description("publish a report's next version now, whatever its channel's policy (a partial report on request)")
  .argument('<filler-order>', 'filler order number (OBR-3), e.g. LAB-0001')
  .option('--channel <name>', 'the channel whose reports destination renders it, when several have one')
  .option('--lab <lab>', 'filling lab (OBR-3 namespace) when several labs use the number')
  .action(async (filler: string, opts: { channel?: string; lab?: string }) => {
    process.exitCode = await publishCommand(filler, opts);
  });

program
  .command('reprocess')
  .description('run the failed stage of dead-lettered messages again (the engine must be running)')
  .argument('<channel>')
  .argument('<ids...>', 'store ids (see `passerelle messages <channel> --state dead`)')
  .action(async (channel: string, ids: string[]) => {
    process.exitCode = await reprocessCommand(channel, ids);
  });

program
  .command('discard')
  .description('close dead-lettered messages for good (state discarded), saying why; they are never reprocessed')
  .argument('<ids...>', 'store ids (see `passerelle messages <channel> --state dead`)')
  .requiredOption('--reason <text>', 'why, kept on each message with who and when')
  .action(async (ids: string[], opts: { reason: string }) => {
    process.exitCode = await discardCommand(ids, opts.reason);
  });

program
  .command('release')
  .description("decide on a report's parked result (its id as `passerelle report` prints it), or on a subcontractor's results parked on a sub-order: --accept or --drop")
  .argument('<filler-order>', 'filler order number (OBR-3), e.g. LAB-0001')
  .argument('[parked-id]', 'the parked result, `<message id>/<observation key>`')
  .option('--sub-order <number>', "the sub-order whose results are parked (the subcontractor's identity disagreed)")
  .option('--accept', 'apply it: the current value (the old one kept in the history), or the results fused into our report')
  .option('--drop', 'leave it out for good')
  .option('--note <text>', 'why, kept with who and when')
  .option('--lab <lab>', 'filling lab (OBR-3 namespace) when several labs use the number')
  .option('--channel <name>', 'the channel whose reports destination publishes it, when several have one')
  .action(async (filler: string, item: string | undefined, opts: { subOrder?: string; accept?: boolean; drop?: boolean; note?: string; lab?: string; channel?: string }) => {
    process.exitCode = await releaseCommand(filler, item, opts);
  });

program
  .command('render')
  .description('turn an ORU^R01 / OUL^R22 into its CR-BIO document set: N3, N1, PDF/A, validation report')
  .argument('<file>', 'HL7 message file')
  .requiredOption('--out <dir>', 'output directory')
  .option('--version <v>', 'CR-BIO version: 2024.01 | 2021.01', '2024.01')
  .option('--profile <p>', 'pro | patient | both', 'pro')
  .option('--lab <file>', 'lab profile', 'channels/labs/laboratoire-demo.yaml')
  .option('--kit <dir>', 'ANS kit directory (env PASSERELLE_ANS_KIT)')
  .option('--cache <dir>', 'prepared rule sets cache (env PASSERELLE_CACHE_DIR)')
  .option('--time <ts>', 'document time as a CDA timestamp (reproducible output)')
  .action(async (file: string, opts: { out: string; version: string; profile: string; lab: string; kit?: string; cache?: string; time?: string }) => {
    if (opts.version !== '2024.01' && opts.version !== '2021.01') throw new Error(`--version must be 2024.01 or 2021.01 (2023.01 was withdrawn by ANS), got ${opts.version}`);
    if (!['pro', 'patient', 'both'].includes(opts.profile)) throw new Error(`--profile must be pro, patient or both, got ${opts.profile}`);
    process.exitCode = await renderCommand(file, { ...opts, version: opts.version, profile: opts.profile as 'pro' | 'patient' | 'both' });
  });

program
  .command('validate')
  .description('check a CDA document with the ANS rules: XSD + volet (inline set), or every profile set with --full')
  .argument('<files...>', 'CDA XML files')
  .option('--full', 'run the five profile sets too (IHE, ModelesDeContenusCDA, Modeles_ANS, StrucMin, terminologie)')
  .option('--json', 'print the report as JSON')
  .option('--kit <dir>', 'ANS kit directory (env PASSERELLE_ANS_KIT)')
  .option('--cache <dir>', 'prepared rule sets cache (env PASSERELLE_CACHE_DIR)')
  .action(async (files: string[], opts: { full?: boolean; json?: boolean; kit?: string; cache?: string }) => {
    process.exitCode = await validateCommand(files, opts);
  });

program
  .command('kit')
  .description('print the ANS kit directory: PASSERELLE_ANS_KIT, ../shared/ans, var/ans-kit, else fetch the pinned ANS commit into var/ans-kit')
  .option('--no-fetch', 'only look, never fetch')
  .action((opts: { fetch: boolean }) => {
    process.exitCode = kitCommand(opts);
  });

program
  .command('schematron')
  .description('Schematron kit tools')
  .command('compile')
  .description('prepare every rule set of an ANS kit once, into the cache (keyed by a hash of the sources)')
  .argument('<kit-dir>')
  .option('--cache <dir>', 'cache directory (env PASSERELLE_CACHE_DIR)')
  .option('--json', 'print the statistics as JSON')
  .action(async (kitDir: string, opts: { cache?: string; json?: boolean }) => {
    process.exitCode = await schematronCompileCommand(kitDir, opts);
  });

program
  .command('retention')
  .description("one retention pass now (channel files' `retention`), or with --dry-run the report documents it would archive and purge")
  .option('--dry-run', 'only say which report documents would be archived and purged')
  .option('-c, --channels <dir>', 'channel files directory (env PASSERELLE_CHANNELS, default channels)')
  .action(async (opts: { dryRun?: boolean; channels?: string }) => {
    process.exitCode = await retentionCommand(opts);
  });

const directory = program.command('directory').description('the RPPS / MSSanté directory of annuaire.sante.fr (docs/directory.md)');
directory
  .command('load')
  .description('load an extraction (.txt or .zip) now: PS_LibreAcces_Personne_activite or Extraction_Correspondance_MSSante')
  .argument('<file>')
  .option('--kind <kind>', 'persons | mssante when neither the file name nor the header says it')
  .option('--store <url>', 'sqlite:<path> or postgres://… (env PASSERELLE_STORE)')
  .action(async (file: string, opts: { kind?: string; store?: string }) => {
    process.exitCode = await directoryLoadCommand(file, opts);
  });
directory
  .command('find')
  .description('what the loaded directory says of a professional: names, activities, MSSanté mailboxes, active or not')
  .argument('<rpps>', 'RPPS (11 digits) or national id (8 + RPPS)')
  .option('--store <url>', 'sqlite:<path> or postgres://… (env PASSERELLE_STORE)')
  .action(async (rpps: string, opts: { store?: string }) => {
    process.exitCode = await directoryFindCommand(rpps, opts);
  });
directory
  .command('loads')
  .description('the latest directory loads')
  .option('--limit <n>', 'how many', '10')
  .option('--store <url>', 'sqlite:<path> or postgres://… (env PASSERELLE_STORE)')
  .action(async (opts: { store?: string; limit?: string }) => {
    process.exitCode = await directoryLoadsCommand(opts);
  });

const loinc = program.command('loinc').description('the LOINC transcoding of the lab catalogue: DSR LOINC CSV files (docs/catalogue.md)');
loinc
  .command('export')
  .description('write LOINC_1/2/3 (chapters, orderable exams, result analyses) for the transcoding provider, or with --fhir one FHIR Bundle')
  .option('--catalogue <file>', 'catalogue (default mappings/catalogue.yaml)')
  .option('--out <dir>', 'output directory', '.')
  .option('--date <AAAAMMJJ>', 'date in the file names (default today)')
  .option('--fhir', 'catalogue_fhir_<AAAAMMJJ>.json: CodeSystems, ValueSets and the ConceptMap to LOINC (SGL.LOI.10)')
  .option('--fhir-base <url>', 'base of the canonical URLs (https://labo.example.fr/fhir)')
  .option('--publisher <name>', "the lab's name in the FHIR resources")
  .option('--loinc <file>', 'transcoding for the FHIR ConceptMap (default mappings/loinc.yaml)')
  .action((opts: { catalogue?: string; loinc?: string; out?: string; date?: string; fhir?: boolean; fhirBase?: string; publisher?: string }) => {
    process.exitCode = loincExportCommand(opts);
  });
loinc
  .command('import')
  .description("merge the provider's LOINC_4/5/6 files into the transcoding; prints the report, exit 1 when refused (nothing written)")
  .argument('<files...>', 'LOINC_4_…, LOINC_5_…, LOINC_6_… CSV files, or one FHIR Bundle / ConceptMap (.json)')
  .option('--catalogue <file>', 'catalogue (default mappings/catalogue.yaml)')
  .option('--loinc <file>', 'transcoding to update (default mappings/loinc.yaml)')
  .option('--value-set <file>', '"circuit de la biologie" value set: FHIR ValueSet JSON or CSV (env PASSERELLE_LOINC_VALUE_SET)')
  .option('--kind <kind>', 'LOINC_4 | LOINC_5 | LOINC_6 when the file names do not say it')
  .option('--date <date>', 'import date for the created/modified dates (default today)')
  .option('--dry-run', 'print the report, write nothing')
  .action((files: string[], opts: LoincImportOptions) => {
    process.exitCode = loincImportCommand(files, opts);
  });
loinc
  .command('set')
  .description('give one local code its LOINC by hand (dates kept as an import keeps them)')
  .argument('<kind>', 'chapter | sub-chapter | exam | analysis')
  .argument('<local>', 'local code (a sub-chapter as <chapter>/<sub-chapter>)')
  .argument('<loinc>', 'LOINC code')
  .option('--label <text>', 'LOINC label (French)')
  .option('--catalogue <file>', 'catalogue (default mappings/catalogue.yaml)')
  .option('--loinc <file>', 'transcoding to update (default mappings/loinc.yaml)')
  .option('--date <date>', 'date of the change (default today)')
  .action((kind: string, local: string, code: string, opts: { label?: string; catalogue?: string; loinc?: string; date?: string }) => {
    process.exitCode = loincSetCommand(kind, local, code, opts);
  });

program.parseAsync(process.argv).catch((e) => {
  process.stderr.write(`passerelle: ${(e as Error).message}\n`);
  process.exit(2);
});
