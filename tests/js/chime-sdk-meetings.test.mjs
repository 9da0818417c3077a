// AWS SDK for JavaScript v3 client tests for Carillon (Chime SDK Meetings API,
// 2021-07-15).
//
// Starts its own server from the binary named by $CARILLON_BIN on a free
// loopback port with a throwaway data directory, runs every operation through
// @aws-sdk/client-chime-sdk-meetings, and stops the server at the end.
//
// Run:  cd tests && npm ci && CARILLON_BIN=/path/to/carillon npm run test:js

import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";

import {
  BadRequestException,
  BatchCreateAttendeeCommand,
  BatchUpdateAttendeeCapabilitiesExceptCommand,
  ChimeSDKMeetingsClient,
  ConflictException,
  CreateAttendeeCommand,
  CreateMeetingCommand,
  CreateMeetingWithAttendeesCommand,
  DeleteAttendeeCommand,
  DeleteMeetingCommand,
  ForbiddenException,
  GetAttendeeCommand,
  GetMeetingCommand,
  LimitExceededException,
  ListAttendeesCommand,
  ListTagsForResourceCommand,
  NotFoundException,
  ResourceNotFoundException,
  StartMeetingTranscriptionCommand,
  StopMeetingTranscriptionCommand,
  TagResourceCommand,
  TooManyTagsException,
  UnauthorizedException,
  UnprocessableEntityException,
  UntagResourceCommand,
  UpdateAttendeeCapabilitiesCommand,
  paginateListAttendees,
} from "@aws-sdk/client-chime-sdk-meetings";

import { startCarillon } from "../lib/carillon.mjs";

const REGION = "us-east-1";
const ACCOUNT = "000000000000";
const GUID = /^[a-fA-F0-9]{8}(?:-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12}$/;
const ALL_SEND_RECEIVE = { Audio: "SendReceive", Video: "SendReceive", Content: "SendReceive" };

// ---------------------------------------------------------------------------
// The server under test

let server = null;
let baseUrl = null;

let client;

before(async () => {
  server = await startCarillon([], "carillon-js");
  baseUrl = server.url;
  client = makeClient();
});

after(async () => {
  client?.destroy();
  await server?.stop();
});

// ---------------------------------------------------------------------------
// Helpers

function makeClient(overrides = {}) {
  return new ChimeSDKMeetingsClient({
    endpoint: baseUrl,
    region: REGION,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    maxAttempts: 1, // every error surfaces at once
    ...overrides,
  });
}

const token = () => `tok-${randomUUID()}`;

/** Sends a command; checks the HTTP status and the request id. */
async function send(command, status = 200, c = client) {
  const out = await c.send(command);
  assert.equal(out.$metadata.httpStatusCode, status, `${command.constructor.name}: HTTP status`);
  assert.ok(out.$metadata.requestId, `${command.constructor.name}: no request id`);
  return out;
}

/** Sends a command that must fail with the given exception and status. */
async function sendError(command, ExceptionClass, status, { message, c = client } = {}) {
  const name = ExceptionClass.name;
  const err = await c.send(command).then(
    (out) => assert.fail(`${command.constructor.name} should fail with ${name}, got ${JSON.stringify(out)}`),
    (e) => e,
  );
  assert.equal(err.name, name, `wrong error: ${err.name}: ${err.message}`);
  assert.ok(err instanceof ExceptionClass, `${err.name} is not an instance of ${name}`);
  assert.equal(err.$metadata.httpStatusCode, status, `${name}: HTTP status`);
  assert.ok(err.$metadata.requestId, `${name}: no request id`);
  assert.equal(err.RequestId, err.$metadata.requestId, "body RequestId differs from x-amzn-RequestId");
  if (message !== undefined) assert.equal(err.message, message);
  return err;
}

async function createMeeting(input = {}) {
  const out = await send(
    new CreateMeetingCommand({
      ClientRequestToken: token(),
      MediaRegion: REGION,
      ExternalMeetingId: `ext-${randomUUID().slice(0, 8)}`,
      ...input,
    }),
  );
  return out.Meeting;
}

async function createAttendee(MeetingId, ExternalUserId, extra = {}) {
  return (await send(new CreateAttendeeCommand({ MeetingId, ExternalUserId, ...extra }))).Attendee;
}

// ---------------------------------------------------------------------------
// Meetings

describe("meetings", () => {
  it("CreateMeeting, GetMeeting, DeleteMeeting", async () => {
    const m = await createMeeting({ ExternalMeetingId: "js-meeting", Tags: [{ Key: "team", Value: "blue" }] });
    assert.match(m.MeetingId, GUID);
    assert.equal(m.MeetingArn, `arn:aws:chime:${REGION}:${ACCOUNT}:meeting/${m.MeetingId}`);
    assert.equal(m.ExternalMeetingId, "js-meeting");
    assert.equal(m.MediaRegion, REGION);
    for (const key of ["AudioHostUrl", "AudioFallbackUrl", "SignalingUrl", "TurnControlUrl", "ScreenDataUrl"]) {
      assert.ok(m.MediaPlacement?.[key], `MediaPlacement.${key} is missing`);
    }

    const got = await send(new GetMeetingCommand({ MeetingId: m.MeetingId }));
    assert.deepEqual(got.Meeting, m);

    await send(new DeleteMeetingCommand({ MeetingId: m.MeetingId }), 204);
    await sendError(new GetMeetingCommand({ MeetingId: m.MeetingId }), NotFoundException, 404, {
      message: `Meeting <${m.MeetingId}> not found`,
    });
    await sendError(new DeleteMeetingCommand({ MeetingId: m.MeetingId }), NotFoundException, 404);
  });

  it("unknown and malformed meeting IDs", async () => {
    const id = randomUUID();
    await sendError(new GetMeetingCommand({ MeetingId: id }), NotFoundException, 404, {
      message: `Meeting <${id}> not found`,
    });
    await sendError(new ListAttendeesCommand({ MeetingId: id }), NotFoundException, 404);
    const err = await sendError(new GetMeetingCommand({ MeetingId: "not-a-meeting" }), BadRequestException, 400);
    assert.match(err.message, /^1 validation error detected: .*'meetingId' failed to satisfy constraint/);
  });

  it("ClientRequestToken: same parameters, same meeting; other parameters, ConflictException", async () => {
    const input = { ClientRequestToken: token(), MediaRegion: REGION, ExternalMeetingId: "idem" };
    const first = await createMeeting(input);
    const again = await createMeeting(input);
    assert.equal(again.MeetingId, first.MeetingId);
    await sendError(new CreateMeetingCommand({ ...input, MediaRegion: "eu-west-1" }), ConflictException, 409);
  });

  it("CreateMeetingWithAttendees", async () => {
    const out = await send(
      new CreateMeetingWithAttendeesCommand({
        ClientRequestToken: token(),
        MediaRegion: REGION,
        ExternalMeetingId: "with-attendees",
        MeetingFeatures: { Video: { MaxResolution: "None" } },
        Attendees: [
          { ExternalUserId: "alice" },
          { ExternalUserId: "bob" },
          { ExternalUserId: "eve", Capabilities: { Audio: "SendReceive", Video: "Send", Content: "None" } },
        ],
      }),
    );
    assert.match(out.Meeting.MeetingId, GUID);
    assert.deepEqual(
      out.Attendees.map((a) => [a.ExternalUserId, a.Capabilities]),
      [
        ["alice", { Audio: "SendReceive", Video: "Receive", Content: "SendReceive" }],
        ["bob", { Audio: "SendReceive", Video: "Receive", Content: "SendReceive" }],
      ],
    );
    assert.deepEqual(
      (out.Errors ?? []).map((e) => [e.ExternalUserId, e.ErrorCode]),
      [["eve", "BadRequest"]],
    );
  });

  it("replica meetings: at most 4, and DeleteMeeting deletes them", async () => {
    const primary = await createMeeting();
    const replicas = [];
    for (let i = 0; i < 4; i++) {
      const r = await createMeeting({ PrimaryMeetingId: primary.MeetingId });
      assert.equal(r.PrimaryMeetingId, primary.MeetingId);
      replicas.push(r.MeetingId);
    }
    await sendError(
      new CreateMeetingCommand({
        ClientRequestToken: token(),
        MediaRegion: REGION,
        ExternalMeetingId: "fifth",
        PrimaryMeetingId: primary.MeetingId,
      }),
      LimitExceededException,
      400,
    );
    await send(new DeleteMeetingCommand({ MeetingId: primary.MeetingId }), 204);
    for (const id of replicas) {
      await sendError(new GetMeetingCommand({ MeetingId: id }), NotFoundException, 404);
    }
  });
});

// ---------------------------------------------------------------------------
// Attendees

describe("attendees", () => {
  it("CreateAttendee and GetAttendee; the same ExternalUserId is the same attendee", async () => {
    const { MeetingId } = await createMeeting();
    const a = await createAttendee(MeetingId, "user-1");
    assert.match(a.AttendeeId, GUID);
    assert.ok(a.JoinToken);
    assert.deepEqual(a.Capabilities, ALL_SEND_RECEIVE);

    const again = await createAttendee(MeetingId, "user-1");
    assert.equal(again.AttendeeId, a.AttendeeId);
    assert.equal(again.JoinToken, a.JoinToken);

    const got = (await send(new GetAttendeeCommand({ MeetingId, AttendeeId: a.AttendeeId }))).Attendee;
    assert.equal(got.ExternalUserId, "user-1");
    assert.equal(got.JoinToken, a.JoinToken);

    const id = randomUUID();
    await sendError(new GetAttendeeCommand({ MeetingId, AttendeeId: id }), NotFoundException, 404, {
      message: `Attendee <${id}> not found`,
    });
  });

  it("ExternalUserId with the reserved aws: prefix is BadRequestException", async () => {
    const { MeetingId } = await createMeeting();
    const err = await sendError(
      new CreateAttendeeCommand({ MeetingId, ExternalUserId: "aws:intruder" }),
      BadRequestException,
      400,
    );
    assert.ok(
      err.message.startsWith("1 validation error detected: Value at 'externalUserId' failed to satisfy constraint: "),
      err.message,
    );
  });

  it("BatchCreateAttendee, with a repeat inside the batch", async () => {
    const { MeetingId } = await createMeeting();
    const out = await send(
      new BatchCreateAttendeeCommand({
        MeetingId,
        Attendees: [{ ExternalUserId: "user-a" }, { ExternalUserId: "user-b" }, { ExternalUserId: "user-a" }],
      }),
    );
    assert.deepEqual(out.Errors, []);
    assert.deepEqual(
      out.Attendees.map((x) => x.ExternalUserId),
      ["user-a", "user-b", "user-a"],
    );
    assert.equal(out.Attendees[2].AttendeeId, out.Attendees[0].AttendeeId);
    assert.equal(out.Attendees[2].JoinToken, out.Attendees[0].JoinToken);
    assert.notEqual(out.Attendees[1].AttendeeId, out.Attendees[0].AttendeeId);
  });

  it("a full meeting: LimitExceededException, and ResourceLimitExceeded in batch Errors", async () => {
    const { MeetingId } = await createMeeting({ MeetingFeatures: { Attendee: { MaxCount: 2 } } });
    const out = await send(
      new BatchCreateAttendeeCommand({
        MeetingId,
        Attendees: [{ ExternalUserId: "u1" }, { ExternalUserId: "u2" }, { ExternalUserId: "u3" }],
      }),
    );
    assert.deepEqual(
      out.Attendees.map((x) => x.ExternalUserId),
      ["u1", "u2"],
    );
    assert.deepEqual(
      out.Errors.map((e) => [e.ExternalUserId, e.ErrorCode]),
      [["u3", "ResourceLimitExceeded"]],
    );
    await sendError(new CreateAttendeeCommand({ MeetingId, ExternalUserId: "u4" }), LimitExceededException, 400);
  });

  it("ListAttendees pages with MaxResults and NextToken, and with paginateListAttendees", async () => {
    const { MeetingId } = await createMeeting();
    const created = [];
    for (let i = 0; i < 5; i++) created.push((await createAttendee(MeetingId, `pager-${i}`)).AttendeeId);

    const sizes = [];
    const seen = [];
    let NextToken;
    do {
      const out = await send(new ListAttendeesCommand({ MeetingId, MaxResults: 2, NextToken }));
      sizes.push(out.Attendees.length);
      seen.push(...out.Attendees.map((a) => a.AttendeeId));
      NextToken = out.NextToken;
      assert.ok(sizes.length < 10, "paging does not end");
    } while (NextToken);
    assert.deepEqual(sizes, [2, 2, 1]);
    assert.deepEqual([...seen].sort(), [...created].sort());

    const viaPaginator = [];
    for await (const page of paginateListAttendees({ client, pageSize: 2 }, { MeetingId })) {
      viaPaginator.push(...page.Attendees.map((a) => a.AttendeeId));
    }
    assert.deepEqual(viaPaginator, seen);

    await sendError(new ListAttendeesCommand({ MeetingId, NextToken: "forged" }), BadRequestException, 400);
  });

  it("DeleteAttendee", async () => {
    const { MeetingId } = await createMeeting();
    const a = await createAttendee(MeetingId, "leaver");
    await send(new DeleteAttendeeCommand({ MeetingId, AttendeeId: a.AttendeeId }), 204);
    await sendError(new GetAttendeeCommand({ MeetingId, AttendeeId: a.AttendeeId }), NotFoundException, 404);
    await sendError(new DeleteAttendeeCommand({ MeetingId, AttendeeId: a.AttendeeId }), NotFoundException, 404);
  });

  it("UpdateAttendeeCapabilities and BatchUpdateAttendeeCapabilitiesExcept", async () => {
    const { MeetingId } = await createMeeting();
    const host = await createAttendee(MeetingId, "host");
    const guest = await createAttendee(MeetingId, "guest");

    const caps = { Audio: "Send", Video: "None", Content: "None" };
    const upd = await send(new UpdateAttendeeCapabilitiesCommand({ MeetingId, AttendeeId: guest.AttendeeId, Capabilities: caps }));
    assert.deepEqual(upd.Attendee.Capabilities, caps);

    await sendError(
      new UpdateAttendeeCapabilitiesCommand({
        MeetingId,
        AttendeeId: guest.AttendeeId,
        Capabilities: { Audio: "SendReceive", Video: "None", Content: "Receive" },
      }),
      BadRequestException,
      400,
    );

    const receiveOnly = { Audio: "Receive", Video: "Receive", Content: "Receive" };
    await send(
      new BatchUpdateAttendeeCapabilitiesExceptCommand({
        MeetingId,
        ExcludedAttendeeIds: [{ AttendeeId: host.AttendeeId }],
        Capabilities: receiveOnly,
      }),
    );
    const h = (await send(new GetAttendeeCommand({ MeetingId, AttendeeId: host.AttendeeId }))).Attendee;
    const g = (await send(new GetAttendeeCommand({ MeetingId, AttendeeId: guest.AttendeeId }))).Attendee;
    assert.deepEqual(h.Capabilities, ALL_SEND_RECEIVE);
    assert.deepEqual(g.Capabilities, receiveOnly);
  });
});

// ---------------------------------------------------------------------------
// Transcription and tags

describe("transcription", () => {
  it("StartMeetingTranscription and StopMeetingTranscription", async () => {
    const { MeetingId } = await createMeeting();
    const cfg = { EngineTranscribeSettings: { LanguageCode: "en-US" } };
    await sendError(new StopMeetingTranscriptionCommand({ MeetingId }), UnprocessableEntityException, 422);
    await send(new StartMeetingTranscriptionCommand({ MeetingId, TranscriptionConfiguration: cfg }));
    await sendError(
      new StartMeetingTranscriptionCommand({ MeetingId, TranscriptionConfiguration: cfg }),
      UnprocessableEntityException,
      422,
    );
    await send(new StopMeetingTranscriptionCommand({ MeetingId }));
  });
});

describe("tags", () => {
  it("TagResource, UntagResource, ListTagsForResource", async () => {
    const m = await createMeeting({ Tags: [{ Key: "team", Value: "blue" }] });
    const ResourceARN = m.MeetingArn;
    await send(new TagResourceCommand({ ResourceARN, Tags: [{ Key: "env", Value: "test" }] }), 204);
    let tags = (await send(new ListTagsForResourceCommand({ ResourceARN }))).Tags;
    assert.deepEqual(
      tags.map((t) => `${t.Key}=${t.Value}`).sort(),
      ["env=test", "team=blue"],
    );
    await send(new UntagResourceCommand({ ResourceARN, TagKeys: ["team"] }), 204);
    tags = (await send(new ListTagsForResourceCommand({ ResourceARN }))).Tags;
    assert.deepEqual(tags, [{ Key: "env", Value: "test" }]);
  });

  it("ResourceNotFoundException and TooManyTagsException", async () => {
    const unknown = `arn:aws:chime:${REGION}:${ACCOUNT}:meeting/${randomUUID()}`;
    const err = await sendError(
      new TagResourceCommand({ ResourceARN: unknown, Tags: [{ Key: "k", Value: "v" }] }),
      ResourceNotFoundException,
      404,
    );
    assert.equal(err.ResourceName, unknown);

    // 50 tags in all are allowed; the 51st key is TooManyTagsException. (51
    // tags in one request break the list's length constraint instead, which is
    // BadRequestException.)
    const m = await createMeeting();
    const fifty = Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}`, Value: "v" }));
    await send(new TagResourceCommand({ ResourceARN: m.MeetingArn, Tags: fifty }), 204);
    const tooMany = await sendError(
      new TagResourceCommand({ ResourceARN: m.MeetingArn, Tags: [{ Key: "one-more", Value: "v" }] }),
      TooManyTagsException,
      400,
    );
    assert.equal(tooMany.ResourceName, m.MeetingArn);
    await sendError(
      new TagResourceCommand({ ResourceARN: m.MeetingArn, Tags: [...fifty, { Key: "k50", Value: "v" }] }),
      BadRequestException,
      400,
    );
  });
});

// ---------------------------------------------------------------------------
// Authentication

describe("authentication", () => {
  it("a wrong secret is ForbiddenException", async () => {
    const bad = makeClient({ credentials: { accessKeyId: "test", secretAccessKey: "wrong" } });
    try {
      await sendError(new GetMeetingCommand({ MeetingId: randomUUID() }), ForbiddenException, 403, { c: bad });
    } finally {
      bad.destroy();
    }
  });

  it("an unsigned request is UnauthorizedException", async () => {
    // A signer that leaves the request as it is: nothing is signed.
    const unsigned = makeClient({ signer: { sign: async (request) => request } });
    try {
      await sendError(new GetMeetingCommand({ MeetingId: randomUUID() }), UnauthorizedException, 401, { c: unsigned });
    } finally {
      unsigned.destroy();
    }

    const res = await fetch(`${baseUrl}/meetings/${randomUUID()}`);
    assert.equal(res.status, 401);
    assert.equal(res.headers.get("x-amzn-errortype"), "UnauthorizedException");
    assert.ok(res.headers.get("x-amzn-requestid"));
  });
});
