import { pdfFileName } from '../../engine/pdf';
import type { RenderOptions } from '../../engine/lab/profile';
import { EFFECTIVE_TIME, fullReport, qualifiedPatient } from './fixtures';

const opts: RenderOptions = { version: '2024.01', profile: 'pro', effectiveTime: EFFECTIVE_TIME };

describe('pdfFileName (MSSanté <date acte>_<type doc>_<NOM>_<prénom>_<n° dossier>.pdf)', () => {
  it('uses the first collection date, CR-BIO, birth name and first birth given name, dossier', () => {
    expect(pdfFileName(fullReport(), opts)).toBe('20240601_CR-BIO_PAT-TROIS_DOMINIQUE_240601-0042.pdf');
  });

  it('writes names in upper-case ASCII with only safe characters', () => {
    const r = fullReport({ ...qualifiedPatient(), birthFamily: "D'Artagnan de Castelmore", firstBirthGiven: 'Zoé-Anaïs' });
    r.dossier = 'D/2024 #15';
    expect(pdfFileName(r, opts)).toBe('20240601_CR-BIO_D-ARTAGNAN-DE-CASTELMORE_ZOE-ANAIS_D-2024-15.pdf');
    expect(pdfFileName(r, opts)).toMatch(/^[0-9]{8}_CR-BIO_[A-Z0-9-]+_[A-Z0-9-]+_[A-Za-z0-9-]+\.pdf$/);
  });

  it('falls back to the reception date, then to the effective time', () => {
    const r = fullReport();
    for (const q of r.requests) {
      q.collectedAt = undefined;
      for (const s of q.specimens) s.collectedAt = undefined;
    }
    r.receivedAt = '20240530';
    expect(pdfFileName(r, opts)).toMatch(/^20240530_/);
    r.receivedAt = undefined;
    expect(pdfFileName(r, { ...opts, effectiveTime: '20240602120000' })).toMatch(/^20240602_/);
  });
});
