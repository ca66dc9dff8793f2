#!/usr/bin/env bash
# Seeds Evently with demo data through the public API (bash + curl + jq), idempotently:
# accounts, two venue templates, six published events with cancellation policies, and a
# 20,000-seat stadium event for load tests. What exists (looked up by name or email) is
# left alone, so running it twice changes nothing.
#
#   EVENTLY_URL     gateway base URL                  (http://127.0.0.1:8080)
#   ADMIN_EMAIL     bootstrap admin                   (admin@evently.local)
#   ADMIN_PASSWORD  its password                      (evently-admin)
set -euo pipefail

BASE="${EVENTLY_URL:-http://127.0.0.1:8080}"
API="$BASE/api/v1"
ADMIN_EMAIL="${ADMIN_EMAIL:-admin@evently.local}"
ADMIN_PASSWORD="${ADMIN_PASSWORD:-evently-admin}"
USER_PASSWORD="evently-demo-user"

for tool in curl jq date; do
  command -v "$tool" >/dev/null || { echo "seed: $tool is required" >&2; exit 1; }
done

TMP=$(mktemp)
trap 'rm -f "$TMP"' EXIT
STATUS=0
BODY=""

# api METHOD PATH [TOKEN] [JSON] — sets STATUS and BODY.
api() {
  local method=$1 path=$2 token=${3:-} data=${4:-}
  local args=(-sS -o "$TMP" -w '%{http_code}' -X "$method" "$API$path" -H 'Accept: application/json')
  [[ -n $token ]] && args+=(-H "Authorization: Bearer $token")
  [[ -n $data ]] && args+=(-H 'Content-Type: application/json' --data-binary "$data")
  STATUS=$(curl "${args[@]}") || { echo "seed: cannot reach $API" >&2; exit 1; }
  BODY=$(cat "$TMP")
}

# want STATUS... — fails with the answer unless STATUS is one of them.
want() {
  local s
  for s in "$@"; do [[ $STATUS == "$s" ]] && return 0; done
  echo "seed: unexpected HTTP $STATUS: $BODY" >&2
  exit 1
}

# at DAYS HOUR — an RFC 3339 UTC time DAYS days from today at HOUR:00.
at() { date -u -d "+$1 days" "+%Y-%m-%dT$(printf %02d "$2"):00:00Z"; }
# minus_days TIME N — TIME minus N days.
minus_days() { date -u -d "$1 - $2 days" +%Y-%m-%dT%H:%M:%SZ; }

echo "Seeding $API"

# ---- accounts ----
for email in user1@example.com user2@example.com; do
  name=${email%%@*}
  api POST /auth/register "" "$(jq -nc --arg e "$email" --arg p "$USER_PASSWORD" --arg f "${name^}" \
    '{first_name: $f, last_name: "Demo", email: $e, password: $p}')"
  want 201 409
  [[ $STATUS == 201 ]] && echo "  user      $email created" || echo "  user      $email exists"
done
api POST /auth/login "" "$(jq -nc --arg e "$ADMIN_EMAIL" --arg p "$ADMIN_PASSWORD" '{email: $e, password: $p}')"
want 200
TOKEN=$(jq -r .access_token <<<"$BODY")

# ---- venue templates ----
# template NAME JSON — prints the id of the template called NAME, creating it from JSON.
template() {
  local name=$1 body=$2 id
  api GET "/admin/venue-templates?limit=100&q=$(jq -rn --arg n "$name" '$n|@uri')" "$TOKEN"
  want 200
  id=$(jq -r --arg n "$name" '[.items[] | select(.name == $n)][0].id // empty' <<<"$BODY")
  if [[ -z $id ]]; then
    api POST /admin/venue-templates "$TOKEN" "$body"
    want 201
    id=$(jq -r .id <<<"$BODY")
    echo "  template  $name created ($(jq -r .total_seats <<<"$BODY") seats)" >&2
  else
    echo "  template  $name exists" >&2
  fi
  echo "$id"
}

THEATER=$(template "Small Theater" '{"name":"Small Theater","description":"An intimate 26-seat theatre","address":"12 MG Road, Bengaluru","layout_type":"THEATER","sections":[
  {"name":"Premium","row_start":"A","row_end":"A","seats_per_row":13,"price_tier":"premium"},
  {"name":"Standard","row_start":"B","row_end":"B","seats_per_row":13,"price_tier":"standard"}]}')
HALL=$(template "Conference Hall" '{"name":"Conference Hall","description":"A 28-seat conference hall","address":"4 Cyber City, Gurugram","layout_type":"CONFERENCE","sections":[
  {"name":"VIP","row_start":"A","row_end":"A","seats_per_row":8,"price_tier":"vip"},
  {"name":"General","row_start":"B","row_end":"C","seats_per_row":10,"price_tier":"general"}]}')
STADIUM=$(template "Stadium Arena" '{"name":"Stadium Arena","description":"20,000 seats in four stands, for load tests","address":"Stadium Road, Mumbai","layout_type":"STADIUM","sections":[
  {"name":"North Stand","row_start":"1","row_end":"50","seats_per_row":100,"price_tier":"premium"},
  {"name":"East Stand","row_start":"1","row_end":"50","seats_per_row":100,"price_tier":"standard"},
  {"name":"South Stand","row_start":"1","row_end":"50","seats_per_row":100,"price_tier":"standard"},
  {"name":"West Stand","row_start":"1","row_end":"50","seats_per_row":100,"price_tier":"standard"}]}')

# ---- events ----
# event NAME TEMPLATE DAYS BASE MULT CATEGORY TAGS_JSON DESCRIPTION POLICY_JQ
# POLICY_JQ builds the policy from $start (the event's start time); "" sets none.
event() {
  local name=$1 tpl=$2 days=$3 base=$4 mult=$5 category=$6 tags=$7 desc=$8 policy=$9 id status start first
  api GET "/admin/events?limit=100&q=$(jq -rn --arg n "$name" '$n|@uri')" "$TOKEN"
  want 200
  id=$(jq -r --arg n "$name" '[.items[] | select(.name == $n and .status != "CANCELLED")][0].id // empty' <<<"$BODY")
  if [[ -z $id ]]; then
    api GET "/admin/venue-templates/$tpl" "$TOKEN"
    want 200
    first=$(jq -r '.sections[0].id' <<<"$BODY")
    start=$(at "$days" 18)
    api POST /admin/events "$TOKEN" "$(jq -nc --arg n "$name" --arg d "$desc" --arg c "$category" --argjson tags "$tags" \
      --arg t "$tpl" --arg s "$start" --arg e "$(date -u -d "$start + 4 hours" +%Y-%m-%dT%H:%M:%SZ)" \
      --argjson b "$base" --arg f "$first" --argjson m "$mult" \
      '{name: $n, description: $d, category: $c, tags: $tags, venue_template_id: $t, date_time: $s, end_time: $e,
        timezone: "Asia/Kolkata", base_price: $b, currency: "INR", hold_limit_per_user: 8,
        section_pricing: [{section_id: $f, price_multiplier: $m}]}')"
    want 201
    id=$(jq -r .id <<<"$BODY")
    echo "  event     $name created"
  else
    echo "  event     $name exists"
  fi
  api GET "/admin/events/$id" "$TOKEN"
  want 200
  status=$(jq -r .status <<<"$BODY")
  start=$(jq -r .date_time <<<"$BODY")
  if [[ -n $policy ]]; then
    api GET "/admin/events/$id/cancellation-policy" "$TOKEN"
    want 200 404
    if [[ $STATUS == 404 ]]; then
      api POST "/admin/events/$id/cancellation-policy" "$TOKEN" "$(jq -nc --arg start "$start" \
        --arg d7 "$(minus_days "$start" 7)" --arg d5 "$(minus_days "$start" 5)" --arg d3 "$(minus_days "$start" 3)" \
        --arg d1 "$(minus_days "$start" 1)" --arg d10 "$(minus_days "$start" 10)" "$policy")"
      want 201
    fi
  fi
  if [[ $status == DRAFT ]]; then
    api POST "/admin/events/$id/publish" "$TOKEN"
    want 200
  fi
}

event "Tech Conference" "$HALL" 15 150000 2.0 technology '["tech","conference","networking"]' \
  "A day of talks on AI, cloud and developer tools." \
  '{allow_cancellation: true, cancellation_deadline: $d7, fee_type: "PERCENTAGE", fee_amount: 10, refund_tiers: [], requires_approval: false, refund_processing_days: 7}'
event "Classical Music Evening" "$THEATER" 30 80000 1.8 music '["classical","live-music"]' \
  "A string quartet plays Mozart, Beethoven and Ravel." \
  '{allow_cancellation: true, cancellation_deadline: $d3, fee_type: "FIXED", fee_amount: 5000, refund_tiers: [], requires_approval: false, refund_processing_days: 5}'
event "Startup Pitch Night" "$HALL" 45 50000 1.5 business '["startups","networking","pitch"]' \
  "Ten founders, five minutes each, one panel of investors." \
  '{allow_cancellation: true, cancellation_deadline: $d1, fee_type: "PERCENTAGE", fee_amount: 25, refund_tiers: [], requires_approval: false, refund_processing_days: 7}'
event "Food & Wine Festival" "$THEATER" 60 120000 1.5 food-drink '["food","wine","tasting"]' \
  "Regional kitchens and vineyards, with a guided tasting." \
  '{allow_cancellation: false, fee_type: "NONE", fee_amount: 0, refund_tiers: [], requires_approval: false, refund_processing_days: 0}'
event "Art Gallery Opening" "$THEATER" 75 60000 1.3 arts '["art","gallery","exhibition"]' \
  "The opening night of a contemporary painting exhibition." \
  '{allow_cancellation: true, cancellation_deadline: $d5, fee_type: "PERCENTAGE", fee_amount: 5, refund_tiers: [], requires_approval: false, refund_processing_days: 7}'
event "Sports Analytics Summit" "$HALL" 90 200000 2.5 sports '["sports","analytics","data"]' \
  "How clubs use tracking data, from scouting to match day." \
  '{allow_cancellation: true, cancellation_deadline: $d10, fee_type: "FIXED", fee_amount: 10000, refund_tiers: [], requires_approval: true, refund_processing_days: 10}'
event "Stadium Rush" "$STADIUM" 20 100000 1.5 sports '["stadium","load-test"]' \
  "A 20,000-seat on-sale rush for load tests." \
  '{allow_cancellation: true, fee_type: "NONE", fee_amount: 0, refund_tiers: [{hours_before: 48, refund_percent: 100}, {hours_before: 0, refund_percent: 50}], requires_approval: false, refund_processing_days: 3}'

# ---- summary ----
echo
echo "Demo data at $API:"
echo "  accounts: $ADMIN_EMAIL / $ADMIN_PASSWORD (ADMIN), user1@example.com and user2@example.com / $USER_PASSWORD (USER)"
api GET "/events?limit=100&sort=date" ""
want 200
jq -r '.items[] | [.date_time[0:10], .name, .venue_name, "\(.total_capacity) seats", "from \(.min_price/100) \(.currency)", .id] | @tsv' <<<"$BODY" |
  while IFS=$'\t' read -r d n v c p i; do printf '  %-10s  %-24s %-16s %-12s %-16s %s\n' "$d" "$n" "$v" "$c" "$p" "$i"; done
