#!/usr/bin/env bash
# What `npm test` needs besides node_modules: redis-server (tests start private ones to kill them)
# and a PostgreSQL the store tests can reach at 127.0.0.1:5432. Our machines already have both;
# on a fresh Debian this installs PostgreSQL and creates a `passerelle` role and database
# (password `passerelle`, local TCP only). Does nothing when a server already answers.
# The PDF tests (test/pdf) also need the DejaVu fonts the renderer embeds and the tools that
# check its output: poppler-utils (pdftotext, pdffonts, pdfinfo, pdftoppm), qpdf, dmtx-utils;
# the self-presentation test (test/documents/chromium) opens the N3 in Debian's chromium; the CDA
# builder tests check the XSD with an independent validator, xmllint (libxml2-utils); the MSSanté
# receipts test runs Dovecot (dovecot-imapd) as its IMAP server.
set -euo pipefail
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

pdf_ok() {
  for t in pdftotext pdffonts pdfinfo pdftoppm qpdf dmtxread chromium xmllint; do command -v "$t" >/dev/null 2>&1 || return 1; done
  [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] && [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf ]
}

if ! pdf_ok; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "test-prereqs: installing fonts-dejavu-core, poppler-utils, qpdf, dmtx-utils, chromium, libxml2-utils (for the document tests)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends fonts-dejavu-core poppler-utils qpdf dmtx-utils chromium libxml2-utils
  else
    echo "test-prereqs: the document tests need fonts-dejavu-core, poppler-utils, qpdf, dmtx-utils, chromium and libxml2-utils (Debian names)" >&2
  fi
fi

# The MSSanté receipts test reads DSN and read receipts from a real IMAP server: Dovecot.
if ! [ -x /usr/sbin/dovecot ]; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "test-prereqs: installing dovecot-imapd (the IMAP server of the MSSanté receipts test)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dovecot-imapd
  else
    echo "test-prereqs: the MSSanté receipts test needs Dovecot (Debian: dovecot-imapd)" >&2
  fi
fi

pg_ok() {
  command -v psql >/dev/null 2>&1 || return 1
  psql "${PASSERELLE_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}" -Atqc 'select 1' >/dev/null 2>&1 && return 0
  PGPASSWORD=passerelle psql -h 127.0.0.1 -U passerelle -d passerelle -Atqc 'select 1' >/dev/null 2>&1
}

if pg_ok; then exit 0; fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "test-prereqs: no PostgreSQL answers at 127.0.0.1:5432; the store tests need one (set PASSERELLE_TEST_PG_URL)" >&2
  exit 0
fi
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "test-prereqs: installing PostgreSQL from Debian's packages (for the store tests)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql
fi
ver=$(ls /etc/postgresql | sort -V | tail -n 1)
as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start 2>/dev/null || true
for _ in $(seq 1 30); do as_root su postgres -c "psql -Atqc 'select 1'" >/dev/null 2>&1 && break; sleep 1; done
as_root su postgres -c "psql -v ON_ERROR_STOP=1 -Atqc \"do \\\$\\\$ begin if not exists (select from pg_roles where rolname='passerelle') then create role passerelle login createdb password 'passerelle'; end if; end \\\$\\\$\"" >/dev/null
as_root su postgres -c "psql -Atqc \"select 1 from pg_database where datname='passerelle'\"" | grep -q 1 \
  || as_root su postgres -c "createdb -O passerelle passerelle"
echo "test-prereqs: PostgreSQL ready (role passerelle, database passerelle)"
