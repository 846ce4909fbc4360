#!/bin/sh
# Schedule one serpwatch crawl on a Scrapyd server (from cron or a systemd timer):
#   SCRAPYD_URL=http://127.0.0.1:6800 deploy/scrapyd/schedule.sh /etc/serpwatch/nl.toml /var/lib/serpwatch/nl.db
# Prints Scrapyd's answer, {"status": "ok", "jobid": "..."}; that job id is the
# run's `job` in `serpwatch runs`. The profile and the database are paths on the
# Scrapyd host. Deploy the project first: scrapyd-deploy (scrapy.cfg).
set -eu
profile=$1
db=$2
url=${SCRAPYD_URL:-http://127.0.0.1:6800}
exec curl -fsS "$url/schedule.json" \
  -d project=serpwatch -d spider=search \
  --data-urlencode "profile=$profile" \
  --data-urlencode "setting=SERPWATCH_DB=$db"
