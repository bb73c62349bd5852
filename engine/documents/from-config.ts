import { resolve } from 'node:path';
import { loadLabProfile } from '../config/lab-profile';
import { loadCorrespondents } from '../config/correspondents';
import { hasDirectory } from '../directory/resolver';
import { TranscodingFiles } from '../lab/transcoding-files';
import { errorCodeOf } from '../errors';
import type { ReportsDestinationConfig } from '../config/channel-schema';
import type { ReportsDestinationOptions } from './reports-destination';

/** What a `reports` destination of a channel file becomes, for the engine and for `passerelle publish`. */
export function reportsDestinationOptions(
  d: ReportsDestinationConfig,
  deps: Pick<ReportsDestinationOptions, 'store' | 'kit' | 'renderPool' | 'fullValidator' | 'logger'>,
): ReportsDestinationOptions {
  const lab = loadLabProfile(resolve(d.lab));
  return {
    ...deps,
    name: d.name,
    directory: resolve(d.directory),
    version: d.version,
    profiles: [...d.profiles],
    lab,
    defaultLab: d.defaultLab ?? lab.lab.finess ?? lab.lab.name,
    policy: d.publish,
    ownFillers: d.ownFillers,
    visibility: d.visibility,
    limits: d.limits,
    pfi: d.pfi,
    mss: d.mss,
    dmp: d.dmp,
    deliveryThreads: d.deliveryThreads,
    correspondents: d.correspondents ? loadCorrespondents(resolve(d.correspondents)) : undefined,
    // The channel's own files, else mappings/catalogue.yaml + loinc.yaml; re-read when they change.
    transcoding: new TranscodingFiles(d.catalogue && resolve(d.catalogue), d.loinc && resolve(d.loinc), {
      onReload: (e) =>
        e
          ? deps.logger.error('LOINC transcoding files changed but are refused; the previous transcoding stays in force', { destination: d.name, code: errorCodeOf(e), error: e.message })
          : deps.logger.info('LOINC transcoding files changed: reloaded', { destination: d.name }),
    }),
    // The RPPS directory loaded in the store (engine/directory), after the correspondents file.
    rppsDirectory: hasDirectory(deps.store) ? deps.store : undefined,
  };
}
