import { resolve } from 'node:path';
import { loadLabProfile } from '../../engine/config/lab-profile';
import type { LabProfile } from '../../engine/lab/profile';

/** The sample lab of channels/labs (fictitious, test identifiers), used by tests and samples. */
export const LAB_PROFILE_FILE = resolve(__dirname, '../../channels/labs/laboratoire-demo.yaml');
export const TEST_LAB_PROFILE: LabProfile = loadLabProfile(LAB_PROFILE_FILE);
