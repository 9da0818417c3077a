#!/usr/bin/env bash
# AWS CLI v1 tests for Carillon (`aws chime-sdk-meetings ...`).
#
# Starts its own server from the binary named by $CARILLON_BIN on a free
# loopback port with a throwaway data directory, runs every operation of the
# Chime SDK Meetings API through the CLI, and stops the server on exit.
#
# Run:  CARILLON_BIN=/path/to/carillon bash tests/cli/test_cli.sh
#
# Prints one PASS/FAIL line per check and exits non-zero if any check failed.
# JSON is read with python3 (jq is not required). Set AWS_CLI to use another
# `aws` executable.
set -euo pipefail

AWS_CLI=${AWS_CLI:-aws}

if [[ -z "${CARILLON_BIN:-}" ]]; then
	echo "FAIL: CARILLON_BIN is not set: set it to the path of a built carillon binary" \
		"(e.g. go build -o /tmp/carillon-bin/carillon ./cmd/carillon)" >&2
	exit 2
fi
if [[ ! -x "$CARILLON_BIN" || -d "$CARILLON_BIN" ]]; then
	echo "FAIL: CARILLON_BIN=$CARILLON_BIN is not an executable file" >&2
	exit 2
fi
if ! command -v "$AWS_CLI" >/dev/null 2>&1; then
	echo "FAIL: the AWS CLI ($AWS_CLI) is not on PATH" >&2
	exit 2
fi

# Isolate the CLI from any user configuration.
while IFS= read -r name; do unset "$name"; done < <(env | sed -n 's/^\(AWS_[A-Z0-9_]*\)=.*/\1/p')
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_EC2_METADATA_DISABLED=true AWS_PAGER="" AWS_MAX_ATTEMPTS=1

WORK=$(mktemp -d "${TMPDIR:-/tmp}/carillon-cli.XXXXXX")
SERVER_PID=""
SERVER_LOG="$WORK/server.log"
OUT="$WORK/out"
ERR="$WORK/err"

cleanup() {
	local rc=$?
	if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
		kill -TERM "$SERVER_PID" 2>/dev/null || true
		for _ in $(seq 1 100); do
			kill -0 "$SERVER_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	if [[ -n "${CARILLON_TEST_SHOW_LOG:-}" && -f "$SERVER_LOG" ]]; then
		cat "$SERVER_LOG" >&2
	fi
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Start the server. Port 0: the kernel picks a free port, and the server logs
# the address it bound.
# CARILLON_SERVE_ARGS adds flags (e.g. to run against PostgreSQL).
# shellcheck disable=SC2086
env -u CARILLON_CONFIG -u CARILLON_CREDENTIALS -u CARILLON_ACCESS_KEY_ID -u CARILLON_SECRET_ACCESS_KEY \
	"$CARILLON_BIN" serve --listen 127.0.0.1:0 --ops-listen "" --data-dir "$WORK/data" --log-format json ${CARILLON_SERVE_ARGS:-} \
	</dev/null >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!

URL=""
for _ in $(seq 1 200); do
	if ! kill -0 "$SERVER_PID" 2>/dev/null; then
		echo "FAIL: carillon exited before listening:" >&2
		cat "$SERVER_LOG" >&2
		exit 1
	fi
	URL=$(python3 -c '
import json, sys
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    try:
        rec = json.loads(line)
    except ValueError:
        continue
    if rec.get("msg") == "carillon listening" and rec.get("api"):
        print(rec["api"])
        break
' "$SERVER_LOG")
	[[ -n "$URL" ]] && break
	sleep 0.1
done
if [[ -z "$URL" ]]; then
	echo "FAIL: carillon did not report listening within 20s:" >&2
	cat "$SERVER_LOG" >&2
	exit 1
fi
echo "# carillon at $URL ($("$AWS_CLI" --version 2>&1))"

# ---------------------------------------------------------------------------
# Helpers

PASSED=0
FAILED=0

pass() {
	PASSED=$((PASSED + 1))
	echo "PASS: $1"
}

fail() {
	FAILED=$((FAILED + 1))
	echo "FAIL: $1"
	shift
	local line
	for line in "$@"; do echo "      $line"; done
}

# cli ARGS...: runs `aws chime-sdk-meetings ARGS --endpoint-url URL`, stdout
# to $OUT, stderr to $ERR; sets RC.
cli() {
	RC=0
	"$AWS_CLI" chime-sdk-meetings "$@" --endpoint-url "$URL" --output json >"$OUT" 2>"$ERR" || RC=$?
}

# ok NAME ARGS...: the call must succeed.
ok() {
	local name=$1
	shift
	cli "$@"
	if [[ $RC -eq 0 ]]; then
		pass "$name"
	else
		fail "$name (exit $RC)" "$(cat "$ERR")"
	fi
}

# err NAME ERROR ARGS...: the call must fail with the named error class.
err() {
	local name=$1 want=$2
	shift 2
	cli "$@"
	if [[ $RC -ne 0 ]] && grep -q "An error occurred ($want)" "$ERR"; then
		pass "$name -> $want (exit $RC)"
	else
		fail "$name: want $want, got exit $RC" "stderr: $(cat "$ERR")" "stdout: $(head -c 500 "$OUT")"
	fi
}

# stderr_has NAME TEXT: the last call's stderr must contain TEXT.
stderr_has() {
	if grep -qF -- "$2" "$ERR"; then
		pass "$1"
	else
		fail "$1" "$(cat "$ERR")"
	fi
}

# j EXPR: evaluates a Python expression over the JSON in $OUT (as d); prints
# strings bare and other values as JSON; prints nothing if it cannot.
j() {
	python3 -c '
import json, sys
try:
    d = json.load(open(sys.argv[1]))
    v = eval(sys.argv[2], {"d": d, "json": json})
except Exception as e:
    sys.stderr.write("j: %s\n" % e)
    sys.exit(0)
print(v if isinstance(v, str) else json.dumps(v, sort_keys=True))
' "$OUT" "$1" 2>/dev/null
}

# eq NAME GOT WANT
eq() {
	if [[ "$2" == "$3" ]]; then
		pass "$1"
	else
		fail "$1" "got:  $2" "want: $3"
	fi
}

# matches NAME VALUE REGEX
matches() {
	if [[ "$2" =~ $3 ]]; then
		pass "$1"
	else
		fail "$1" "got:  $2" "want: /$3/"
	fi
}

GUID='^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$'
ALL_SR='{"Audio": "SendReceive", "Content": "SendReceive", "Video": "SendReceive"}'
TOKEN="cli-$$-$RANDOM"

# ---------------------------------------------------------------------------
# Meetings

ok "create-meeting" create-meeting --client-request-token "$TOKEN" --media-region us-east-1 \
	--external-meeting-id cli-meeting --tags Key=team,Value=blue
MID=$(j 'd["Meeting"]["MeetingId"]')
ARN=$(j 'd["Meeting"]["MeetingArn"]')
matches "create-meeting returns a MeetingId" "$MID" "$GUID"
eq "create-meeting returns the meeting ARN" "$ARN" "arn:aws:chime:us-east-1:000000000000:meeting/$MID"
eq "create-meeting echoes ExternalMeetingId" "$(j 'd["Meeting"]["ExternalMeetingId"]')" "cli-meeting"

ok "create-meeting again with the same token" create-meeting --client-request-token "$TOKEN" \
	--media-region us-east-1 --external-meeting-id cli-meeting --tags Key=team,Value=blue
eq "same token and parameters return the same meeting" "$(j 'd["Meeting"]["MeetingId"]')" "$MID"
err "create-meeting with the same token and other parameters" ConflictException \
	create-meeting --client-request-token "$TOKEN" --media-region us-west-2 --external-meeting-id cli-meeting

# The endpoint from the environment instead of --endpoint-url.
RC=0
AWS_ENDPOINT_URL_CHIME_SDK_MEETINGS="$URL" "$AWS_CLI" chime-sdk-meetings get-meeting --meeting-id "$MID" \
	--query Meeting.MeetingId --output text >"$OUT" 2>"$ERR" || RC=$?
if [[ $RC -eq 0 && "$(cat "$OUT")" == "$MID" ]]; then
	pass "get-meeting via AWS_ENDPOINT_URL_CHIME_SDK_MEETINGS"
else
	fail "get-meeting via AWS_ENDPOINT_URL_CHIME_SDK_MEETINGS (exit $RC)" "stdout: $(cat "$OUT")" "stderr: $(cat "$ERR")"
fi

ok "get-meeting" get-meeting --meeting-id "$MID"
eq "get-meeting returns the meeting" "$(j 'd["Meeting"]["MeetingArn"]')" "$ARN"

err "get-meeting of an unknown meeting" NotFoundException get-meeting --meeting-id 11111111-2222-3333-4444-555555555555
err "get-meeting with a malformed MeetingId" BadRequestException get-meeting --meeting-id not-a-meeting
stderr_has "malformed MeetingId message names meetingId" "'meetingId' failed to satisfy constraint"

# ---------------------------------------------------------------------------
# Attendees

ok "create-attendee" create-attendee --meeting-id "$MID" --external-user-id user-1
AID=$(j 'd["Attendee"]["AttendeeId"]')
JT=$(j 'd["Attendee"]["JoinToken"]')
matches "create-attendee returns an AttendeeId" "$AID" "$GUID"
matches "create-attendee returns a JoinToken" "$JT" '^.+$'
eq "default capabilities are SendReceive" "$(j 'd["Attendee"]["Capabilities"]')" "$ALL_SR"

ok "create-attendee again with the same ExternalUserId" create-attendee --meeting-id "$MID" --external-user-id user-1
eq "same ExternalUserId returns the same AttendeeId and JoinToken" \
	"$(j 'd["Attendee"]["AttendeeId"] + " " + d["Attendee"]["JoinToken"]')" "$AID $JT"

err "create-attendee with a reserved ExternalUserId" BadRequestException \
	create-attendee --meeting-id "$MID" --external-user-id "aws:intruder"
stderr_has "reserved ExternalUserId message names externalUserId" "1 validation error detected: Value at 'externalUserId' failed to satisfy constraint"

ok "batch-create-attendee" batch-create-attendee --meeting-id "$MID" \
	--attendees '[{"ExternalUserId":"batch-1"},{"ExternalUserId":"batch-2"},{"ExternalUserId":"batch-1"}]'
eq "batch-create-attendee creates each ExternalUserId once" \
	"$(j '[a["ExternalUserId"] for a in d["Attendees"]] + [d["Attendees"][0]["AttendeeId"] == d["Attendees"][2]["AttendeeId"], d["Errors"]]')" \
	'["batch-1", "batch-2", "batch-1", true, []]'
B1=$(j 'd["Attendees"][0]["AttendeeId"]')

ok "get-attendee" get-attendee --meeting-id "$MID" --attendee-id "$AID"
eq "get-attendee returns the attendee" "$(j 'd["Attendee"]["ExternalUserId"] + " " + d["Attendee"]["JoinToken"]')" "user-1 $JT"

# Three attendees, two per page.
ok "list-attendees page 1" list-attendees --meeting-id "$MID" --max-results 2
PAGE1=$(j '[a["ExternalUserId"] for a in d["Attendees"]]')
NEXT=$(j 'd.get("NextToken", "")')
eq "list-attendees page 1 has 2 attendees" "$(j 'len(d["Attendees"])')" "2"
matches "list-attendees page 1 has a NextToken" "$NEXT" '^.+$'
ok "list-attendees page 2" list-attendees --meeting-id "$MID" --max-results 2 --next-token "$NEXT"
PAGE2=$(j '[a["ExternalUserId"] for a in d["Attendees"]]')
eq "list-attendees page 2 is the last" "$(j 'len(d["Attendees"]), ("NextToken" in d)')" "[1, false]"
eq "list-attendees pages hold every attendee once" \
	"$(python3 -c 'import json,sys; print(sorted(json.loads(sys.argv[1]) + json.loads(sys.argv[2])))' "$PAGE1" "$PAGE2")" \
	"['batch-1', 'batch-2', 'user-1']"

ok "update-attendee-capabilities" update-attendee-capabilities --meeting-id "$MID" --attendee-id "$AID" \
	--capabilities Audio=Receive,Video=None,Content=None
eq "update-attendee-capabilities returns the new capabilities" "$(j 'd["Attendee"]["Capabilities"]')" \
	'{"Audio": "Receive", "Content": "None", "Video": "None"}'
err "update-attendee-capabilities with Content but no Video" BadRequestException \
	update-attendee-capabilities --meeting-id "$MID" --attendee-id "$AID" \
	--capabilities Audio=SendReceive,Video=None,Content=SendReceive

ok "batch-update-attendee-capabilities-except" batch-update-attendee-capabilities-except --meeting-id "$MID" \
	--excluded-attendee-ids AttendeeId="$AID" --capabilities Audio=Send,Video=Receive,Content=Receive
ok "get-attendee of an updated attendee" get-attendee --meeting-id "$MID" --attendee-id "$B1"
eq "batch-update-attendee-capabilities-except updated the others" "$(j 'd["Attendee"]["Capabilities"]')" \
	'{"Audio": "Send", "Content": "Receive", "Video": "Receive"}'
ok "get-attendee of the excluded attendee" get-attendee --meeting-id "$MID" --attendee-id "$AID"
eq "batch-update-attendee-capabilities-except left the excluded one" "$(j 'd["Attendee"]["Capabilities"]')" \
	'{"Audio": "Receive", "Content": "None", "Video": "None"}'

ok "delete-attendee" delete-attendee --meeting-id "$MID" --attendee-id "$B1"
err "get-attendee after delete-attendee" NotFoundException get-attendee --meeting-id "$MID" --attendee-id "$B1"
stderr_has "deleted attendee message is 'Attendee <id> not found'" "Attendee <$B1> not found"

# A meeting that holds one attendee.
ok "create-meeting with Attendee.MaxCount=1" create-meeting --client-request-token "$TOKEN-small" \
	--media-region us-east-1 --external-meeting-id small --meeting-features '{"Attendee":{"MaxCount":1}}'
SMALL=$(j 'd["Meeting"]["MeetingId"]')
ok "create-attendee in a meeting with room" create-attendee --meeting-id "$SMALL" --external-user-id first
err "create-attendee in a full meeting" LimitExceededException create-attendee --meeting-id "$SMALL" --external-user-id second
ok "batch-create-attendee in a full meeting" batch-create-attendee --meeting-id "$SMALL" \
	--attendees '[{"ExternalUserId":"second"}]'
eq "batch-create-attendee reports the full meeting per attendee" \
	"$(j '[(e["ExternalUserId"], e["ErrorCode"]) for e in d["Errors"]], d["Attendees"]')" \
	'[[["second", "ResourceLimitExceeded"]], []]'

# ---------------------------------------------------------------------------
# Transcription

err "stop-meeting-transcription when not started" UnprocessableEntityException \
	stop-meeting-transcription --meeting-id "$MID"
ok "start-meeting-transcription" start-meeting-transcription --meeting-id "$MID" \
	--transcription-configuration '{"EngineTranscribeSettings":{"LanguageCode":"en-US"}}'
err "start-meeting-transcription twice" UnprocessableEntityException start-meeting-transcription --meeting-id "$MID" \
	--transcription-configuration '{"EngineTranscribeSettings":{"LanguageCode":"en-US"}}'
ok "stop-meeting-transcription" stop-meeting-transcription --meeting-id "$MID"

# ---------------------------------------------------------------------------
# Tags

ok "tag-resource" tag-resource --resource-arn "$ARN" --tags Key=env,Value=test Key=team,Value=red
ok "list-tags-for-resource" list-tags-for-resource --resource-arn "$ARN"
eq "list-tags-for-resource shows the tags" "$(j 'sorted((t["Key"], t["Value"]) for t in d["Tags"])')" \
	'[["env", "test"], ["team", "red"]]'
ok "untag-resource" untag-resource --resource-arn "$ARN" --tag-keys team
ok "list-tags-for-resource after untag" list-tags-for-resource --resource-arn "$ARN"
eq "untag-resource removed the key" "$(j 'd["Tags"]')" '[{"Key": "env", "Value": "test"}]'
err "tag-resource of an unknown meeting" ResourceNotFoundException tag-resource \
	--resource-arn "arn:aws:chime:us-east-1:000000000000:meeting/11111111-2222-3333-4444-555555555555" \
	--tags Key=k,Value=v

# ---------------------------------------------------------------------------
# CreateMeetingWithAttendees

ok "create-meeting-with-attendees" create-meeting-with-attendees --client-request-token "$TOKEN-cmwa" \
	--media-region us-east-1 --external-meeting-id with-attendees \
	--meeting-features '{"Video":{"MaxResolution":"None"}}' \
	--attendees '[{"ExternalUserId":"alice"},{"ExternalUserId":"bob","Capabilities":{"Audio":"SendReceive","Video":"SendReceive","Content":"None"}}]'
CMWA=$(j 'd["Meeting"]["MeetingId"]')
matches "create-meeting-with-attendees returns a MeetingId" "$CMWA" "$GUID"
eq "create-meeting-with-attendees creates alice with the no-video defaults" \
	"$(j '[(a["ExternalUserId"], a["Capabilities"]) for a in d["Attendees"]]')" \
	'[["alice", {"Audio": "SendReceive", "Content": "SendReceive", "Video": "Receive"}]]'
eq "create-meeting-with-attendees reports bob's capabilities" \
	"$(j '[(e["ExternalUserId"], e["ErrorCode"]) for e in d.get("Errors", [])]')" '[["bob", "BadRequest"]]'

# ---------------------------------------------------------------------------
# DeleteMeeting, with --debug to see the HTTP status and the request id.

RC=0
"$AWS_CLI" chime-sdk-meetings delete-meeting --meeting-id "$MID" --endpoint-url "$URL" --debug >"$OUT" 2>"$ERR" || RC=$?
if [[ $RC -eq 0 ]]; then pass "delete-meeting"; else fail "delete-meeting (exit $RC)" "$(tail -5 "$ERR")"; fi
if grep -Eq "\"DELETE /meetings/$MID HTTP/1.1\" 204" "$ERR"; then
	pass "delete-meeting answers 204"
else
	fail "delete-meeting answers 204" "$(grep -E 'HTTP/1.1" [0-9]+' "$ERR" || true)"
fi
if grep -Eiq "x-amzn-RequestId': '[0-9a-f-]{8,}'" "$ERR"; then
	pass "delete-meeting response has x-amzn-RequestId"
else
	fail "delete-meeting response has x-amzn-RequestId" "$(grep -i 'Response headers' "$ERR" || true)"
fi
err "get-meeting after delete-meeting" NotFoundException get-meeting --meeting-id "$MID"
stderr_has "deleted meeting message is 'Meeting <id> not found'" "Meeting <$MID> not found"
err "delete-meeting twice" NotFoundException delete-meeting --meeting-id "$MID"

# ---------------------------------------------------------------------------
# Authentication

AWS_SECRET_ACCESS_KEY=wrong err "wrong secret" ForbiddenException get-meeting --meeting-id "$CMWA"
err "unsigned request" UnauthorizedException get-meeting --meeting-id "$CMWA" --no-sign-request

# ---------------------------------------------------------------------------

echo "# chime-sdk-meetings CLI: $PASSED passed, $FAILED failed"
echo "$PASSED passed, $FAILED failed"
if [[ $FAILED -ne 0 || $PASSED -eq 0 ]]; then
	exit 1
fi
