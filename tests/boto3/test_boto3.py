#!/usr/bin/env python3
"""boto3 client tests for Carillon (Amazon Chime SDK Meetings API, 2021-07-15).

Starts its own server from the binary named by $CARILLON_BIN on a free
loopback port with a throwaway data directory (the durable SQLite store),
runs every operation through boto3/botocore, and stops the server at the end.

Run:  CARILLON_BIN=/path/to/carillon python3 tests/boto3/test_boto3.py [-v]

Only the standard library and the machine's boto3/botocore are used.
"""

import atexit
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request
import uuid

# Keep the user's AWS configuration out of the tests. This must happen before
# the first boto3 session reads it.
for _name in list(os.environ):
    if _name.startswith("AWS_ENDPOINT_URL") or _name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    ):
        del os.environ[_name]
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

import boto3  # noqa: E402
import botocore  # noqa: E402
from botocore import UNSIGNED  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

REGION = "us-east-1"
ACCOUNT = "000000000000"
GUID_RE = re.compile(r"^[a-fA-F0-9]{8}(?:-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12}$")
ALL_SEND_RECEIVE = {"Audio": "SendReceive", "Video": "SendReceive", "Content": "SendReceive"}
# No retries: every error must surface at once, and the suite stays fast.
CLIENT_CONFIG = Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=15)


# --------------------------------------------------------------------------
# The server under test


class CarillonServer:
    """One carillon process on 127.0.0.1 with its own temporary data dir."""

    START_TIMEOUT = 20.0

    def __init__(self, *extra_args):
        self.extra_args = list(extra_args)
        binary = os.environ.get("CARILLON_BIN", "")
        if not binary:
            raise RuntimeError(
                "CARILLON_BIN is not set: set it to the path of a built carillon binary "
                "(e.g. `go build -o /tmp/carillon-bin/carillon ./cmd/carillon`)"
            )
        if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
            raise RuntimeError(f"CARILLON_BIN={binary!r} is not an executable file")
        self.binary = binary
        self.workdir = tempfile.mkdtemp(prefix="carillon-boto3-")
        self.data_dir = os.path.join(self.workdir, "data")
        self.log_path = os.path.join(self.workdir, "server.log")
        self.proc = None
        self.url = None

    def start(self):
        """Starts the server and waits until it listens; stops it if it does not."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self):
        # Port 0: the kernel picks a free port and the server logs the one it
        # bound, so there is no window in which another process can take it.
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [
                self.binary, "serve",
                "--listen", "127.0.0.1:0",
                "--ops-listen", "",
                "--data-dir", self.data_dir,
                "--log-format", "json",
                # Extra flags, e.g. to run against PostgreSQL.
                *shlex.split(os.environ.get("CARILLON_SERVE_ARGS", "")),
                *self.extra_args,
            ],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=_server_env(),
        )
        deadline = time.monotonic() + self.START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"carillon exited with status {self.proc.returncode} before listening:\n{self.log()}"
                )
            for line in self.log().splitlines():
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if rec.get("msg") == "carillon listening" and rec.get("api"):
                    self.url = rec["api"]
                    return
            time.sleep(0.05)
        raise RuntimeError(f"carillon did not report listening within {self.START_TIMEOUT}s:\n{self.log()}")

    def log(self):
        try:
            with open(self.log_path, "r", encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None
        shutil.rmtree(self.workdir, ignore_errors=True)


def _server_env():
    """The server's environment without any CARILLON_* settings of the caller."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CARILLON_")}


SERVER = None


def setUpModule():
    global SERVER
    server = CarillonServer()
    server.start()
    SERVER = server
    # Belt and braces: stop the server even if the run is interrupted.
    atexit.register(server.stop)


def tearDownModule():
    global SERVER
    if SERVER is not None:
        if os.environ.get("CARILLON_TEST_SHOW_LOG"):
            sys.stderr.write(SERVER.log())
        SERVER.stop()
        SERVER = None


# --------------------------------------------------------------------------
# Helpers


def make_client(secret="test", endpoint=True, signed=True, region=REGION):
    kwargs = dict(region_name=region, config=CLIENT_CONFIG)
    if endpoint:
        kwargs["endpoint_url"] = SERVER.url
    if signed:
        kwargs.update(aws_access_key_id="test", aws_secret_access_key=secret)
    else:
        kwargs["config"] = CLIENT_CONFIG.merge(Config(signature_version=UNSIGNED))
    return boto3.session.Session().client("chime-sdk-meetings", **kwargs)


def token():
    return "tok-" + uuid.uuid4().hex


class CarillonTestCase(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.client = make_client()

    # Calls -----------------------------------------------------------------

    def call(self, op, status=200, **kwargs):
        """Calls an operation, checks the HTTP status and the request id."""
        resp = getattr(self.client, op)(**kwargs)
        md = resp["ResponseMetadata"]
        self.assertEqual(md["HTTPStatusCode"], status, f"{op}: unexpected HTTP status")
        self.assert_request_id(md, op)
        return resp

    def assert_request_id(self, md, what):
        rid = md.get("RequestId")
        self.assertTrue(rid, f"{what}: no RequestId in the response metadata")
        self.assertEqual(
            md["HTTPHeaders"].get("x-amzn-requestid"), rid,
            f"{what}: x-amzn-RequestId header missing or different",
        )

    def assert_error(self, code, status, op, *, message=None, message_re=None, client=None, **kwargs):
        """Calls an operation that must fail with the given error class."""
        client = client or self.client
        with self.assertRaises(ClientError, msg=f"{op} should fail with {code}") as cm:
            getattr(client, op)(**kwargs)
        resp = cm.exception.response
        self.assertEqual(resp["Error"]["Code"], code, f"{op}: wrong error code; response={resp}")
        self.assertEqual(resp["ResponseMetadata"]["HTTPStatusCode"], status, f"{op}: wrong HTTP status")
        self.assert_request_id(resp["ResponseMetadata"], op)
        if message is not None:
            self.assertEqual(resp["Error"]["Message"], message)
        if message_re is not None:
            self.assertRegex(resp["Error"]["Message"], message_re)
        return resp

    # Fixtures --------------------------------------------------------------

    def create_meeting(self, **kwargs):
        kwargs.setdefault("ClientRequestToken", token())
        kwargs.setdefault("MediaRegion", REGION)
        kwargs.setdefault("ExternalMeetingId", "ext-" + uuid.uuid4().hex[:12])
        meeting = self.call("create_meeting", **kwargs)["Meeting"]
        self.addCleanup(self._delete_quietly, meeting["MeetingId"])
        return meeting

    def _delete_quietly(self, meeting_id):
        try:
            self.client.delete_meeting(MeetingId=meeting_id)
        except ClientError:
            pass

    def create_attendee(self, meeting_id, user, **kwargs):
        return self.call("create_attendee", MeetingId=meeting_id, ExternalUserId=user, **kwargs)["Attendee"]

    def assert_attendee(self, attendee, user, caps=None):
        self.assertEqual(attendee["ExternalUserId"], user)
        self.assertRegex(attendee["AttendeeId"], GUID_RE)
        self.assertTrue(attendee.get("JoinToken"), "attendee has no JoinToken")
        if caps is not None:
            self.assertEqual(attendee["Capabilities"], caps)


# --------------------------------------------------------------------------
# Meetings


class MeetingTests(CarillonTestCase):
    def test_endpoint_from_environment_variable(self):
        """AWS_ENDPOINT_URL_CHIME_SDK_MEETINGS points boto3 at the server (no endpoint_url)."""
        os.environ["AWS_ENDPOINT_URL_CHIME_SDK_MEETINGS"] = SERVER.url
        try:
            client = boto3.session.Session().client(
                "chime-sdk-meetings", region_name=REGION,
                aws_access_key_id="test", aws_secret_access_key="test", config=CLIENT_CONFIG,
            )
        finally:
            del os.environ["AWS_ENDPOINT_URL_CHIME_SDK_MEETINGS"]
        self.assertEqual(client.meta.endpoint_url.rstrip("/"), SERVER.url)
        resp = client.create_meeting(ClientRequestToken=token(), MediaRegion=REGION, ExternalMeetingId="env-endpoint")
        self.assertEqual(resp["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assert_request_id(resp["ResponseMetadata"], "create_meeting")
        mid = resp["Meeting"]["MeetingId"]
        self.addCleanup(self._delete_quietly, mid)
        got = client.get_meeting(MeetingId=mid)
        self.assertEqual(got["Meeting"]["MeetingId"], mid)
        # The same meeting is visible through the endpoint_url client: one server.
        self.assertEqual(self.call("get_meeting", MeetingId=mid)["Meeting"]["ExternalMeetingId"], "env-endpoint")

    def test_create_get_delete_meeting(self):
        m = self.create_meeting(
            ExternalMeetingId="standup",
            MeetingHostId="host-1",
            TenantIds=["tenant-a"],
            NotificationsConfiguration={"SqsQueueArn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:queue"},
        )
        mid = m["MeetingId"]
        self.assertRegex(mid, GUID_RE)
        self.assertEqual(m["MeetingArn"], f"arn:aws:chime:{REGION}:{ACCOUNT}:meeting/{mid}")
        self.assertEqual(m["ExternalMeetingId"], "standup")
        self.assertEqual(m["MediaRegion"], REGION)
        self.assertEqual(m["MeetingHostId"], "host-1")
        self.assertEqual(m["TenantIds"], ["tenant-a"])
        for key in ("AudioHostUrl", "AudioFallbackUrl", "SignalingUrl", "TurnControlUrl",
                    "ScreenDataUrl", "ScreenViewingUrl", "ScreenSharingUrl"):
            self.assertTrue(m["MediaPlacement"].get(key), f"MediaPlacement.{key} is missing")

        got = self.call("get_meeting", MeetingId=mid)["Meeting"]
        self.assertEqual(got, m)

        self.call("delete_meeting", status=204, MeetingId=mid)
        self.assert_error("NotFoundException", 404, "get_meeting", MeetingId=mid,
                          message=f"Meeting <{mid}> not found")
        self.assert_error("NotFoundException", 404, "delete_meeting", MeetingId=mid)

    def test_unknown_meeting_is_not_found(self):
        mid = str(uuid.uuid4())
        expected = f"Meeting <{mid}> not found"
        self.assert_error("NotFoundException", 404, "get_meeting", MeetingId=mid, message=expected)
        self.assert_error("NotFoundException", 404, "delete_meeting", MeetingId=mid, message=expected)
        self.assert_error("NotFoundException", 404, "create_attendee", MeetingId=mid, ExternalUserId="user-1",
                          message=expected)
        self.assert_error("NotFoundException", 404, "batch_create_attendee", MeetingId=mid,
                          Attendees=[{"ExternalUserId": "user-1"}], message=expected)
        self.assert_error("NotFoundException", 404, "list_attendees", MeetingId=mid, message=expected)
        self.assert_error("NotFoundException", 404, "get_attendee", MeetingId=mid,
                          AttendeeId=str(uuid.uuid4()), message=expected)
        self.assert_error("NotFoundException", 404, "start_meeting_transcription", MeetingId=mid,
                          TranscriptionConfiguration={"EngineTranscribeSettings": {"LanguageCode": "en-US"}},
                          message=expected)
        self.assert_error("NotFoundException", 404, "stop_meeting_transcription", MeetingId=mid, message=expected)

    def test_control_regions_are_independent(self):
        tok = token()
        meeting = self.create_meeting(ClientRequestToken=tok)
        mid = meeting["MeetingId"]
        west = make_client(region="us-west-2")
        expected = f"Meeting <{mid}> not found"
        self.assert_error("NotFoundException", 404, "get_meeting", client=west, MeetingId=mid, message=expected)
        self.assert_error("NotFoundException", 404, "create_attendee", client=west, MeetingId=mid,
                          ExternalUserId="user-1", message=expected)
        self.assert_error("NotFoundException", 404, "delete_meeting", client=west, MeetingId=mid, message=expected)
        # Its token is free in the other region: a meeting of that region's own.
        other = west.create_meeting(ClientRequestToken=tok, MediaRegion=REGION, ExternalMeetingId="west")["Meeting"]
        self.addCleanup(lambda: west.delete_meeting(MeetingId=other["MeetingId"]))
        self.assertNotEqual(other["MeetingId"], mid)
        self.assertTrue(other["MeetingArn"].startswith("arn:aws:chime:us-west-2:"), other["MeetingArn"])
        self.call("get_meeting", MeetingId=mid)

    def test_malformed_meeting_id_is_bad_request(self):
        resp = self.assert_error("BadRequestException", 400, "get_meeting", MeetingId="not-a-meeting-id")
        msg = resp["Error"]["Message"]
        self.assertTrue(msg.startswith("1 validation error detected: "), msg)
        self.assertIn("'meetingId' failed to satisfy constraint", msg)

    def test_client_request_token_idempotency_and_conflict(self):
        tok = token()
        params = dict(ClientRequestToken=tok, MediaRegion=REGION, ExternalMeetingId="idem",
                      Tags=[{"Key": "team", "Value": "blue"}])
        first = self.call("create_meeting", **params)["Meeting"]
        self.addCleanup(self._delete_quietly, first["MeetingId"])
        again = self.call("create_meeting", **params)["Meeting"]
        self.assertEqual(again["MeetingId"], first["MeetingId"])
        self.assertEqual(again, first)

        resp = self.assert_error("ConflictException", 409, "create_meeting",
                                 ClientRequestToken=tok, MediaRegion="us-west-2", ExternalMeetingId="idem")
        self.assertIn(first["MeetingId"], resp["Error"]["Message"])

    def test_create_meeting_with_attendees(self):
        resp = self.call(
            "create_meeting_with_attendees",
            ClientRequestToken=token(),
            MediaRegion=REGION,
            ExternalMeetingId="with-attendees",
            Attendees=[{"ExternalUserId": "alice"}, {"ExternalUserId": "bob"}],
        )
        mid = resp["Meeting"]["MeetingId"]
        self.addCleanup(self._delete_quietly, mid)
        self.assertRegex(mid, GUID_RE)
        self.assertEqual(resp["Errors"], [])
        self.assertEqual([a["ExternalUserId"] for a in resp["Attendees"]], ["alice", "bob"])
        for a, user in zip(resp["Attendees"], ["alice", "bob"]):
            self.assert_attendee(a, user, ALL_SEND_RECEIVE)
            got = self.call("get_attendee", MeetingId=mid, AttendeeId=a["AttendeeId"])["Attendee"]
            self.assertEqual(got["AttendeeId"], a["AttendeeId"])
            self.assertEqual(got["JoinToken"], a["JoinToken"])
        listed = self.call("list_attendees", MeetingId=mid)["Attendees"]
        self.assertEqual(sorted(a["ExternalUserId"] for a in listed), ["alice", "bob"])

    def test_create_meeting_with_attendees_reports_capability_errors(self):
        resp = self.call(
            "create_meeting_with_attendees",
            ClientRequestToken=token(),
            MediaRegion=REGION,
            ExternalMeetingId="cmwa-errors",
            MeetingFeatures={"Video": {"MaxResolution": "None"}},
            Attendees=[
                {"ExternalUserId": "ok-user"},
                {"ExternalUserId": "wants-video",
                 "Capabilities": {"Audio": "SendReceive", "Video": "SendReceive", "Content": "None"}},
            ],
        )
        self.addCleanup(self._delete_quietly, resp["Meeting"]["MeetingId"])
        self.assertEqual([a["ExternalUserId"] for a in resp["Attendees"]], ["ok-user"])
        self.assertEqual(len(resp["Errors"]), 1, resp["Errors"])
        self.assertEqual(resp["Errors"][0]["ExternalUserId"], "wants-video")
        self.assertEqual(resp["Errors"][0]["ErrorCode"], "BadRequest")
        self.assertTrue(resp["Errors"][0].get("ErrorMessage"))

    def test_replica_meetings(self):
        primary = self.create_meeting(ExternalMeetingId="primary")
        pid = primary["MeetingId"]
        replicas = []
        for i in range(4):
            r = self.create_meeting(ExternalMeetingId=f"replica-{i}", PrimaryMeetingId=pid)
            self.assertEqual(r["PrimaryMeetingId"], pid)
            replicas.append(r["MeetingId"])
        resp = self.assert_error("LimitExceededException", 400, "create_meeting",
                                 ClientRequestToken=token(), MediaRegion=REGION,
                                 ExternalMeetingId="replica-5", PrimaryMeetingId=pid)
        self.assertIn(pid, resp["Error"]["Message"])

        # Deleting the primary deletes its replicas.
        self.call("delete_meeting", status=204, MeetingId=pid)
        for rid in replicas:
            self.assert_error("NotFoundException", 404, "get_meeting", MeetingId=rid,
                              message=f"Meeting <{rid}> not found")


# --------------------------------------------------------------------------
# Attendees


class AttendeeTests(CarillonTestCase):
    def test_create_and_get_attendee_defaults_and_idempotency(self):
        mid = self.create_meeting()["MeetingId"]
        a = self.create_attendee(mid, "user-1")
        self.assert_attendee(a, "user-1", ALL_SEND_RECEIVE)

        again = self.create_attendee(mid, "user-1")
        self.assertEqual(again["AttendeeId"], a["AttendeeId"])
        self.assertEqual(again["JoinToken"], a["JoinToken"])

        got = self.call("get_attendee", MeetingId=mid, AttendeeId=a["AttendeeId"])["Attendee"]
        self.assertEqual(got["AttendeeId"], a["AttendeeId"])
        self.assertEqual(got["ExternalUserId"], "user-1")
        self.assertEqual(got["JoinToken"], a["JoinToken"])
        self.assertEqual(got["Capabilities"], ALL_SEND_RECEIVE)

        other = self.create_attendee(mid, "user-2")
        self.assertNotEqual(other["AttendeeId"], a["AttendeeId"])
        self.assertNotEqual(other["JoinToken"], a["JoinToken"])

    def test_create_attendee_with_capabilities(self):
        mid = self.create_meeting()["MeetingId"]
        caps = {"Audio": "Send", "Video": "Receive", "Content": "None"}
        a = self.create_attendee(mid, "listener", Capabilities=caps)
        self.assertEqual(a["Capabilities"], caps)

    def test_reserved_external_user_id_is_bad_request(self):
        mid = self.create_meeting()["MeetingId"]
        resp = self.assert_error("BadRequestException", 400, "create_attendee",
                                 MeetingId=mid, ExternalUserId="aws:intruder")
        self.assertTrue(
            resp["Error"]["Message"].startswith(
                "1 validation error detected: Value at 'externalUserId' failed to satisfy constraint: "),
            resp["Error"]["Message"],
        )

    def test_batch_create_attendee(self):
        """A worked batch: new attendees, a repeat inside the batch, an existing one."""
        mid = self.create_meeting()["MeetingId"]
        existing = self.create_attendee(mid, "carol")

        resp = self.call(
            "batch_create_attendee",
            MeetingId=mid,
            Attendees=[
                {"ExternalUserId": "alice"},
                {"ExternalUserId": "bob",
                 "Capabilities": {"Audio": "SendReceive", "Video": "None", "Content": "None"}},
                {"ExternalUserId": "alice"},
                {"ExternalUserId": "carol"},
            ],
        )
        self.assertEqual(resp["Errors"], [])
        atts = resp["Attendees"]
        self.assertEqual([a["ExternalUserId"] for a in atts], ["alice", "bob", "alice", "carol"])
        self.assert_attendee(atts[0], "alice", ALL_SEND_RECEIVE)
        self.assert_attendee(atts[1], "bob", {"Audio": "SendReceive", "Video": "None", "Content": "None"})
        # The same ExternalUserId twice in one batch is one attendee.
        self.assertEqual(atts[2]["AttendeeId"], atts[0]["AttendeeId"])
        self.assertEqual(atts[2]["JoinToken"], atts[0]["JoinToken"])
        # An attendee created before the batch comes back unchanged.
        self.assertEqual(atts[3]["AttendeeId"], existing["AttendeeId"])
        self.assertEqual(atts[3]["JoinToken"], existing["JoinToken"])

        listed = self.call("list_attendees", MeetingId=mid)["Attendees"]
        self.assertEqual(sorted(a["ExternalUserId"] for a in listed), ["alice", "bob", "carol"])

        # Repeating the whole batch creates nobody new.
        repeat = self.call("batch_create_attendee", MeetingId=mid,
                           Attendees=[{"ExternalUserId": "alice"}, {"ExternalUserId": "bob"}])
        self.assertEqual([a["AttendeeId"] for a in repeat["Attendees"]],
                         [atts[0]["AttendeeId"], atts[1]["AttendeeId"]])
        self.assertEqual(len(self.call("list_attendees", MeetingId=mid)["Attendees"]), 3)

    def test_attendee_limit_and_batch_errors(self):
        m = self.create_meeting(MeetingFeatures={"Attendee": {"MaxCount": 2},
                                                 "Video": {"MaxResolution": "None"}})
        mid = m["MeetingId"]
        self.assertEqual(m["MeetingFeatures"]["Attendee"]["MaxCount"], 2)
        resp = self.call(
            "batch_create_attendee",
            MeetingId=mid,
            Attendees=[
                {"ExternalUserId": "u1"},
                {"ExternalUserId": "u2",
                 "Capabilities": {"Audio": "SendReceive", "Video": "SendReceive", "Content": "SendReceive"}},
                {"ExternalUserId": "u3"},
                {"ExternalUserId": "u4"},
            ],
        )
        self.assertEqual([a["ExternalUserId"] for a in resp["Attendees"]], ["u1", "u3"])
        errors = {e["ExternalUserId"]: e for e in resp["Errors"]}
        self.assertEqual(sorted(errors), ["u2", "u4"])
        self.assertEqual(errors["u2"]["ErrorCode"], "BadRequest")
        self.assertEqual(errors["u4"]["ErrorCode"], "ResourceLimitExceeded")
        for e in resp["Errors"]:
            self.assertTrue(e.get("ErrorMessage"))

        self.assert_error("LimitExceededException", 400, "create_attendee", MeetingId=mid, ExternalUserId="u5")
        # An existing attendee is still returned when the meeting is full.
        again = self.create_attendee(mid, "u1")
        self.assertEqual(again["AttendeeId"], resp["Attendees"][0]["AttendeeId"])

    def test_list_attendees_paging(self):
        mid = self.create_meeting()["MeetingId"]
        created = [self.create_attendee(mid, f"pager-{i}")["AttendeeId"] for i in range(7)]

        # botocore models no paginator for chime-sdk-meetings (paginators-1.json
        # is empty), so page by hand with MaxResults and NextToken.
        self.assertFalse(self.client.can_paginate("list_attendees"))

        seen, pages, next_token = [], [], None
        while True:
            kwargs = dict(MeetingId=mid, MaxResults=3)
            if next_token:
                kwargs["NextToken"] = next_token
            resp = self.call("list_attendees", **kwargs)
            pages.append(len(resp["Attendees"]))
            seen.extend(a["AttendeeId"] for a in resp["Attendees"])
            next_token = resp.get("NextToken")
            if not next_token:
                break
            self.assertLess(len(pages), 10, "paging does not end")
        self.assertEqual(pages, [3, 3, 1])
        self.assertEqual(len(seen), len(set(seen)))
        self.assertEqual(sorted(seen), sorted(created))

        whole = self.call("list_attendees", MeetingId=mid, MaxResults=100)
        self.assertNotIn("NextToken", whole)
        self.assertEqual(len(whole["Attendees"]), 7)

        self.assert_error("BadRequestException", 400, "list_attendees", MeetingId=mid,
                          NextToken="not-a-token")

    def test_delete_attendee(self):
        mid = self.create_meeting()["MeetingId"]
        a = self.create_attendee(mid, "leaver")
        keep = self.create_attendee(mid, "stayer")
        self.call("delete_attendee", status=204, MeetingId=mid, AttendeeId=a["AttendeeId"])
        aid = a["AttendeeId"]
        self.assert_error("NotFoundException", 404, "get_attendee", MeetingId=mid, AttendeeId=aid,
                          message=f"Attendee <{aid}> not found")
        self.assert_error("NotFoundException", 404, "delete_attendee", MeetingId=mid, AttendeeId=aid)
        self.assert_error("NotFoundException", 404, "update_attendee_capabilities", MeetingId=mid,
                          AttendeeId=aid, Capabilities=ALL_SEND_RECEIVE)
        listed = self.call("list_attendees", MeetingId=mid)["Attendees"]
        self.assertEqual([x["AttendeeId"] for x in listed], [keep["AttendeeId"]])

    def test_unknown_attendee_is_not_found(self):
        mid = self.create_meeting()["MeetingId"]
        aid = str(uuid.uuid4())
        self.assert_error("NotFoundException", 404, "get_attendee", MeetingId=mid, AttendeeId=aid,
                          message=f"Attendee <{aid}> not found")

    def test_update_attendee_capabilities(self):
        mid = self.create_meeting()["MeetingId"]
        a = self.create_attendee(mid, "muted")
        caps = {"Audio": "Receive", "Video": "None", "Content": "None"}
        resp = self.call("update_attendee_capabilities", MeetingId=mid, AttendeeId=a["AttendeeId"],
                         Capabilities=caps)
        self.assertEqual(resp["Attendee"]["AttendeeId"], a["AttendeeId"])
        self.assertEqual(resp["Attendee"]["Capabilities"], caps)
        got = self.call("get_attendee", MeetingId=mid, AttendeeId=a["AttendeeId"])["Attendee"]
        self.assertEqual(got["Capabilities"], caps)

        # Content that receives needs Video that receives.
        self.assert_error("BadRequestException", 400, "update_attendee_capabilities",
                          MeetingId=mid, AttendeeId=a["AttendeeId"],
                          Capabilities={"Audio": "SendReceive", "Video": "None", "Content": "SendReceive"})

    def test_batch_update_attendee_capabilities_except(self):
        mid = self.create_meeting()["MeetingId"]
        host = self.create_attendee(mid, "host")
        others = [self.create_attendee(mid, f"guest-{i}") for i in range(3)]
        caps = {"Audio": "Receive", "Video": "Receive", "Content": "Receive"}
        resp = self.call("batch_update_attendee_capabilities_except", MeetingId=mid,
                         ExcludedAttendeeIds=[{"AttendeeId": host["AttendeeId"]}], Capabilities=caps)
        self.assertEqual(set(resp) - {"ResponseMetadata"}, set())
        got = self.call("get_attendee", MeetingId=mid, AttendeeId=host["AttendeeId"])["Attendee"]
        self.assertEqual(got["Capabilities"], ALL_SEND_RECEIVE)
        for o in others:
            got = self.call("get_attendee", MeetingId=mid, AttendeeId=o["AttendeeId"])["Attendee"]
            self.assertEqual(got["Capabilities"], caps)

    def test_capability_defaults_follow_meeting_features(self):
        cases = [
            ({"Video": {"MaxResolution": "None"}},
             {"Audio": "SendReceive", "Video": "Receive", "Content": "SendReceive"}),
            ({"Video": {"MaxResolution": "None"}, "Content": {"MaxResolution": "FHD"}},
             {"Audio": "SendReceive", "Video": "Receive", "Content": "SendReceive"}),
            ({"Content": {"MaxResolution": "None"}},
             {"Audio": "SendReceive", "Video": "SendReceive", "Content": "None"}),
            ({"Video": {"MaxResolution": "None"}, "Content": {"MaxResolution": "None"}},
             {"Audio": "SendReceive", "Video": "None", "Content": "None"}),
            ({"Audio": {"EchoReduction": "AVAILABLE"}}, ALL_SEND_RECEIVE),
        ]
        for features, expected in cases:
            with self.subTest(features=features):
                mid = self.create_meeting(MeetingFeatures=features)["MeetingId"]
                self.assertEqual(self.create_attendee(mid, "someone")["Capabilities"], expected)


# --------------------------------------------------------------------------
# Transcription and tags


class TranscriptionTests(CarillonTestCase):
    def test_start_and_stop_transcription(self):
        mid = self.create_meeting()["MeetingId"]
        config = {"EngineTranscribeSettings": {"LanguageCode": "en-US"}}
        self.assert_error("UnprocessableEntityException", 422, "stop_meeting_transcription", MeetingId=mid)
        self.call("start_meeting_transcription", MeetingId=mid, TranscriptionConfiguration=config)
        self.assert_error("UnprocessableEntityException", 422, "start_meeting_transcription",
                          MeetingId=mid, TranscriptionConfiguration=config)
        self.call("stop_meeting_transcription", MeetingId=mid)
        self.assert_error("UnprocessableEntityException", 422, "stop_meeting_transcription", MeetingId=mid)
        # It can be started again after a stop.
        self.call("start_meeting_transcription", MeetingId=mid,
                  TranscriptionConfiguration={"EngineTranscribeMedicalSettings": {
                      "LanguageCode": "en-US", "Specialty": "PRIMARYCARE", "Type": "CONVERSATION"}})
        self.call("stop_meeting_transcription", MeetingId=mid)


class TagTests(CarillonTestCase):
    def test_tag_untag_list(self):
        m = self.create_meeting(Tags=[{"Key": "team", "Value": "blue"}])
        arn = m["MeetingArn"]
        tags = self.call("list_tags_for_resource", ResourceARN=arn)["Tags"]
        self.assertEqual(tags, [{"Key": "team", "Value": "blue"}])

        self.call("tag_resource", status=204, ResourceARN=arn,
                  Tags=[{"Key": "env", "Value": "test"}, {"Key": "team", "Value": "red"}])
        tags = self.call("list_tags_for_resource", ResourceARN=arn)["Tags"]
        self.assertEqual(sorted((t["Key"], t["Value"]) for t in tags), [("env", "test"), ("team", "red")])

        self.call("untag_resource", status=204, ResourceARN=arn, TagKeys=["team", "absent"])
        tags = self.call("list_tags_for_resource", ResourceARN=arn)["Tags"]
        self.assertEqual(tags, [{"Key": "env", "Value": "test"}])

    def test_unknown_resource(self):
        arn = f"arn:aws:chime:{REGION}:{ACCOUNT}:meeting/{uuid.uuid4()}"
        for op, kwargs in (
            ("tag_resource", dict(Tags=[{"Key": "k", "Value": "v"}])),
            ("untag_resource", dict(TagKeys=["k"])),
            ("list_tags_for_resource", {}),
        ):
            with self.subTest(op=op):
                resp = self.assert_error("ResourceNotFoundException", 404, op, ResourceARN=arn, **kwargs)
                self.assertIn(arn, resp["Error"]["Message"])

        # A deleted meeting cannot be tagged either.
        m = self.create_meeting()
        self.call("delete_meeting", status=204, MeetingId=m["MeetingId"])
        self.assert_error("ResourceNotFoundException", 404, "tag_resource", ResourceARN=m["MeetingArn"],
                          Tags=[{"Key": "k", "Value": "v"}])

    def test_too_many_tags(self):
        m = self.create_meeting()
        arn = m["MeetingArn"]
        self.call("tag_resource", status=204, ResourceARN=arn,
                  Tags=[{"Key": f"k{i:02d}", "Value": "v"} for i in range(50)])
        self.assertEqual(len(self.call("list_tags_for_resource", ResourceARN=arn)["Tags"]), 50)
        # Replacing an existing key is fine; a 51st key is not.
        self.call("tag_resource", status=204, ResourceARN=arn, Tags=[{"Key": "k00", "Value": "w"}])
        self.assert_error("TooManyTagsException", 400, "tag_resource", ResourceARN=arn,
                          Tags=[{"Key": "one-too-many", "Value": "v"}])
        self.assertEqual(len(self.call("list_tags_for_resource", ResourceARN=arn)["Tags"]), 50)


# --------------------------------------------------------------------------
# Authentication


class AuthTests(CarillonTestCase):
    def test_wrong_secret_is_forbidden(self):
        bad = make_client(secret="not-the-secret")
        self.assert_error("ForbiddenException", 403, "get_meeting", client=bad, MeetingId=str(uuid.uuid4()))
        self.assert_error("ForbiddenException", 403, "create_meeting", client=bad,
                          ClientRequestToken=token(), MediaRegion=REGION, ExternalMeetingId="nope")

    def test_unsigned_request_is_unauthorized(self):
        anon = make_client(signed=False)
        self.assert_error("UnauthorizedException", 401, "get_meeting", client=anon, MeetingId=str(uuid.uuid4()))

    def test_presigned_url(self):
        """A URL presigned by boto3 (SigV4 query form) works without any other credentials, until it expires."""
        meeting = self.create_meeting()
        url = self.client.generate_presigned_url(
            "get_meeting", Params={"MeetingId": meeting["MeetingId"]}, ExpiresIn=60)
        self.assertIn("X-Amz-Signature=", url)
        with urllib.request.urlopen(url, timeout=10) as resp:
            self.assertEqual(resp.status, 200)
            self.assertEqual(json.loads(resp.read())["Meeting"]["MeetingId"], meeting["MeetingId"])
        tampered = url.replace(meeting["MeetingId"], str(uuid.uuid4()))
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(tampered, timeout=10)
        self.assertEqual(cm.exception.code, 403)
        self.assertEqual(cm.exception.headers.get("x-amzn-ErrorType"), "ForbiddenException")
        expiring = self.client.generate_presigned_url(
            "get_meeting", Params={"MeetingId": meeting["MeetingId"]}, ExpiresIn=1)
        time.sleep(2.1)
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(expiring, timeout=10)
        self.assertEqual(cm.exception.code, 403)
        self.assertIn("expired", json.loads(cm.exception.read())["Message"])

    def test_raw_unsigned_http_request(self):
        """Without any SDK: a bare GET gets 401 with the AWS error headers."""
        req = urllib.request.Request(f"{SERVER.url}/meetings/{uuid.uuid4()}", method="GET")
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(req, timeout=10)
        err = cm.exception
        self.assertEqual(err.code, 401)
        self.assertEqual(err.headers.get("x-amzn-ErrorType"), "UnauthorizedException")
        self.assertTrue(err.headers.get("x-amzn-RequestId"))
        body = json.loads(err.read())
        self.assertEqual(body.get("RequestId"), err.headers.get("x-amzn-RequestId"))


class ThrottlingRetryTests(unittest.TestCase):
    """boto3's standard retry mode against the real service's quotas."""

    @classmethod
    def setUpClass(cls):
        cls.server = CarillonServer("--quota-preset", "aws")
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def client(self, retries):
        return boto3.session.Session().client(
            "chime-sdk-meetings", region_name=REGION, endpoint_url=self.server.url,
            aws_access_key_id="test", aws_secret_access_key="test",
            config=CLIENT_CONFIG.merge(Config(retries=retries)))

    def test_standard_retry_mode_rides_out_throttling(self):
        """Past 10 requests/s (bursts of 20) the server throttles; standard mode retries and succeeds."""
        bare = self.client({"total_max_attempts": 1})
        meeting = bare.create_meeting(ClientRequestToken=token(), MediaRegion=REGION,
                                      ExternalMeetingId="throttled")["Meeting"]
        throttled = 0
        for _ in range(40):
            try:
                bare.get_meeting(MeetingId=meeting["MeetingId"])
            except ClientError as e:
                self.assertEqual(e.response["Error"]["Code"], "ThrottlingException")
                self.assertEqual(e.response["ResponseMetadata"]["HTTPStatusCode"], 429)
                throttled += 1
        self.assertGreater(throttled, 0, "40 back-to-back calls were never throttled under the aws preset")

        retrying = self.client({"mode": "standard", "max_attempts": 10})
        retries = 0
        for _ in range(40):
            resp = retrying.get_meeting(MeetingId=meeting["MeetingId"])
            self.assertEqual(resp["Meeting"]["MeetingId"], meeting["MeetingId"])
            retries += resp["ResponseMetadata"]["RetryAttempts"]
        self.assertGreater(retries, 0, "standard mode never had to retry")


def main():
    print(f"boto3 {boto3.__version__}, botocore {botocore.__version__}, CARILLON_BIN={os.environ.get('CARILLON_BIN')}",
          file=sys.stderr)
    program = unittest.main(exit=False, verbosity=2 if "-v" in sys.argv else 1)
    result = program.result
    ok = result.wasSuccessful() and result.testsRun > 0
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = max(0, result.testsRun - failed - len(result.skipped))  # a module set-up error runs nothing
    print(f"{passed} passed, {failed} failed, {len(result.skipped)} skipped")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
