// The Amazon Chime SDK browser client, unchanged, joining Carillon meetings
// in headless Chromium with fake camera and microphone.
//
// Starts the server from $CARILLON_BIN with the demo page serving the
// client bundle (web/dist/amazon-chime-sdk.js, built by `npm --prefix web
// run build`), creates meetings and attendees with the AWS SDK, and has one
// page per attendee join through the client. Every assertion reads what the
// client itself reports: its observers and getStats().
//
// Run:  npm --prefix web ci && npm --prefix web run build
//       cd tests && npm ci && CARILLON_BIN=/path/to/carillon npm run test:browser
// Chromium: Debian's /usr/bin/chromium, or the one named by $CHROMIUM.

import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";

import { chromium } from "playwright-core";
import {
  ChimeSDKMeetingsClient,
  CreateAttendeeCommand,
  CreateMeetingCommand,
  DeleteAttendeeCommand,
  DeleteMeetingCommand,
} from "@aws-sdk/client-chime-sdk-meetings";

import { startCarillon } from "../lib/carillon.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const SDK_BUNDLE = process.env.CARILLON_SDK_BUNDLE ?? join(here, "..", "..", "web", "dist", "amazon-chime-sdk.js");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

if (!existsSync(SDK_BUNDLE)) {
  throw new Error(`the browser client bundle ${SDK_BUNDLE} is missing: build it with npm --prefix web ci && npm --prefix web run build`);
}
if (!existsSync(CHROMIUM)) {
  throw new Error(`Chromium is not at ${CHROMIUM}: install Debian's chromium package (apt-get install chromium) or set CHROMIUM`);
}

// MeetingSessionStatusCode values of the client.
const Status = { Left: 1, AudioAuthenticationRejected: 3, MeetingEnded: 5, AudioAttendeeRemoved: 22 };

let server;
let api;
let browser;

before(async () => {
  server = await startCarillon(["--store", "memory", "--demo-sdk", SDK_BUNDLE, "--log-level", "debug"], "carillon-browser");
  api = new ChimeSDKMeetingsClient({
    endpoint: server.url,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    maxAttempts: 1,
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--use-fake-device-for-media-stream",
      "--use-fake-ui-for-media-stream", "--autoplay-policy=no-user-gesture-required",
    ],
  });
});

after(async () => {
  await browser?.close();
  api?.destroy();
  if (server) {
    if (process.exitCode) process.stderr.write(server.log());
    await server.stop();
  }
});

async function createMeeting() {
  const { Meeting } = await api.send(new CreateMeetingCommand({
    ClientRequestToken: randomUUID(), MediaRegion: "us-east-1", ExternalMeetingId: "browser-test",
    MeetingFeatures: { Video: { MaxResolution: "HD" }, Content: { MaxResolution: "FHD" } },
  }));
  return Meeting;
}

async function createAttendee(meeting, name) {
  const { Attendee } = await api.send(new CreateAttendeeCommand({ MeetingId: meeting.MeetingId, ExternalUserId: name }));
  return Attendee;
}

// open loads the demo page in its own browser context (its own fake
// devices and storage) and has the client join as an attendee. It resolves
// once the client has started or stopped.
async function open(meeting, attendee, opts = {}) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const name = attendee.ExternalUserId;
  page.on("pageerror", (e) => process.stderr.write(`[${name}] page error: ${e.message}\n`));
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().includes("missing TURN credentials")) {
      process.stderr.write(`[${name}] ${m.text()}\n`);
    }
  });
  await page.goto(`${server.url}/demo/`);
  await page.waitForFunction(() => window.carillon !== undefined);
  await page.evaluate(([m, a, o]) => window.carillon.join(m, a, o), [meeting, attendee, opts]);
  return page;
}

const state = (page) => page.evaluate(() => window.carillon.state);

// inbound sums the client's inbound-rtp statistics per kind.
function inbound(page) {
  return page.evaluate(async () => {
    const report = await window.carillon.session.audioVideo.getRTCPeerConnectionStats();
    const out = { audio: { packets: 0, bytes: 0, energy: 0 }, video: { packets: 0, frames: 0 } };
    report.forEach((r) => {
      if (r.type !== "inbound-rtp") return;
      if (r.kind === "audio") {
        out.audio.packets += r.packetsReceived ?? 0;
        out.audio.bytes += r.bytesReceived ?? 0;
        out.audio.energy += r.totalAudioEnergy ?? 0;
      } else {
        out.video.packets += r.packetsReceived ?? 0;
        out.video.frames += r.framesDecoded ?? 0;
      }
    });
    return out;
  });
}

// eventually polls check (which returns a value or throws) until it holds.
async function eventually(what, check, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
      last = new Error(`not yet: ${what}`);
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${last?.message}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe("two browsers in one Carillon meeting", () => {
  let meeting, alice, bob, alicePage, bobPage;

  before(async () => {
    meeting = await createMeeting();
    alice = await createAttendee(meeting, "alice-browser");
    bob = await createAttendee(meeting, "bob-browser");
    alicePage = await open(meeting, alice);
    bobPage = await open(meeting, bob);
  });

  it("starts both sessions", async () => {
    for (const page of [alicePage, bobPage]) {
      const s = await state(page);
      assert.equal(s.stopped, null, `stopped with ${s.stoppedName}`);
      assert.equal(s.started, true);
    }
  });

  it("shows each attendee the other as present", async () => {
    await eventually("alice sees bob", async () => (await state(alicePage)).roster[bob.AttendeeId]);
    await eventually("bob sees alice", async () => (await state(bobPage)).roster[alice.AttendeeId]);
    const s = await state(bobPage);
    assert.equal(s.roster[alice.AttendeeId].externalUserId, "alice-browser");
    assert.ok(s.roster[bob.AttendeeId], "bob is in his own roster");
  });

  it("shows each the other's video tile, with frames decoded", async () => {
    for (const [page, other] of [[alicePage, bob], [bobPage, alice]]) {
      await eventually("a remote tile", async () =>
        Object.values((await state(page)).tiles).some((t) => !t.local && t.attendeeId === other.AttendeeId));
      const first = await eventually("frames decoded", async () => {
        const v = (await inbound(page)).video;
        return v.frames > 10 && v;
      });
      await eventually("more frames decoded", async () => (await inbound(page)).video.frames > first.frames);
    }
  });

  it("delivers each the other's audio", async () => {
    for (const page of [alicePage, bobPage]) {
      // Opus silence is 3 bytes a packet; the fake microphone's tone is
      // real audio, which also shows as energy after decoding.
      const a = await eventually("audio with energy", async () => {
        const a = (await inbound(page)).audio;
        return a.packets > 100 && a.energy > 0 && a;
      });
      assert.ok(a.bytes / a.packets > 10, `audio packets average ${a.bytes / a.packets} bytes: silence, not a voice`);
    }
  });

  it("shows each the other's volume", async () => {
    // The fake microphone beeps: its level reaches the other as volume.
    await eventually("alice's volume at bob", async () => {
      await bobPage.waitForTimeout(100);
      return (await bobPage.evaluate((id) => window.carillon.state.maxVolume?.[id] ?? 0, alice.AttendeeId)) > 0;
    });
  });

  it("relays a data message", async () => {
    await alicePage.evaluate(() => window.carillon.sendChat("hello from alice"));
    const msg = await eventually("the message at bob", async () =>
      (await state(bobPage)).messages.find((m) => m.text === "hello from alice"));
    assert.equal(msg.from, alice.AttendeeId);
    assert.equal(msg.externalUserId, "alice-browser");
    assert.equal(msg.throttled, false);
    assert.ok(msg.timestampMs > 0);
  });

  it("shows a mute to the other", async () => {
    await alicePage.evaluate(() => window.carillon.setMuted(true));
    await eventually("bob sees alice muted", async () => (await state(bobPage)).roster[alice.AttendeeId]?.muted === true);
    await alicePage.evaluate(() => window.carillon.setMuted(false));
    await eventually("bob sees alice unmuted", async () => (await state(bobPage)).roster[alice.AttendeeId]?.muted === false);
  });

  it("turns a camera off and on again", async () => {
    await bobPage.evaluate(() => window.carillon.setCamera(false));
    await eventually("bob's tile gone at alice", async () =>
      !Object.values((await state(alicePage)).tiles).some((t) => !t.local && t.attendeeId === bob.AttendeeId));
    await bobPage.evaluate(() => window.carillon.setCamera(true));
    await eventually("bob's tile back at alice", async () =>
      Object.values((await state(alicePage)).tiles).some((t) => !t.local && t.attendeeId === bob.AttendeeId));
    const before = (await inbound(alicePage)).video.frames;
    await eventually("bob's frames decoded again", async () => (await inbound(alicePage)).video.frames > before + 10);
  });

  it("shows the other absent after a leave", async () => {
    await bobPage.evaluate(() => window.carillon.leave());
    await eventually("bob stopped", async () => (await state(bobPage)).stopped === Status.Left);
    await eventually("alice sees bob gone", async () => !(await state(alicePage)).roster[bob.AttendeeId]);
    const s = await state(alicePage);
    const departure = s.departures.find((d) => d.attendeeId === bob.AttendeeId);
    assert.ok(departure, "a departure was reported");
    assert.equal(departure.dropped, false, "a leave is not a drop");
  });

  after(async () => {
    await alicePage?.context().close();
    await bobPage?.context().close();
  });
});

describe("the server ends sessions", () => {
  it("ends a deleted attendee's session with AttendeeRemoved and everyone's with MeetingEnded", async () => {
    const meeting = await createMeeting();
    const carol = await createAttendee(meeting, "carol-browser");
    const dave = await createAttendee(meeting, "dave-browser");
    const carolPage = await open(meeting, carol, { camera: false });
    const davePage = await open(meeting, dave, { camera: false });
    try {
      await eventually("dave sees carol", async () => (await state(davePage)).roster[carol.AttendeeId]);
      await api.send(new DeleteAttendeeCommand({ MeetingId: meeting.MeetingId, AttendeeId: carol.AttendeeId }));
      await eventually("carol removed", async () => (await state(carolPage)).stopped === Status.AudioAttendeeRemoved);
      await eventually("dave sees carol gone", async () => !(await state(davePage)).roster[carol.AttendeeId]);

      await api.send(new DeleteMeetingCommand({ MeetingId: meeting.MeetingId }));
      await eventually("dave's meeting ended", async () => (await state(davePage)).stopped === Status.MeetingEnded);
    } finally {
      await carolPage.context().close();
      await davePage.context().close();
    }
  });

  it("refuses a forged token and a deleted attendee's token", async () => {
    const meeting = await createMeeting();
    const erin = await createAttendee(meeting, "erin-browser");
    const last = erin.JoinToken.at(-1);
    const forged = { ...erin, JoinToken: erin.JoinToken.slice(0, -1) + (last === "A" ? "B" : "A") };
    const frank = await createAttendee(meeting, "frank-browser");
    await api.send(new DeleteAttendeeCommand({ MeetingId: meeting.MeetingId, AttendeeId: frank.AttendeeId }));
    for (const attendee of [forged, frank]) {
      const page = await open(meeting, attendee, { camera: false, microphone: false });
      try {
        const s = await state(page);
        assert.equal(s.started, false, `${attendee.ExternalUserId} started`);
        assert.equal(s.stopped, Status.AudioAuthenticationRejected, `stopped with ${s.stoppedName}`);
      } finally {
        await page.context().close();
      }
    }
  });
});

describe("the demo page", () => {
  it("joins two people to a meeting by its name", async () => {
    const room = `demo-${randomUUID().slice(0, 8)}`;
    const pages = [];
    try {
      for (const name of ["Ada", "Grace"]) {
        const page = await (await browser.newContext()).newPage();
        pages.push(page);
        await page.goto(`${server.url}/demo/?m=${room}`);
        await page.fill("#your-name", name);
        await page.click("#join");
        await page.waitForSelector("#status:text('connected')", { timeout: 20_000 });
      }
      for (const page of pages) {
        await eventually("two people in the roster", async () => (await page.locator("#roster li").count()) === 2);
        await eventually("a remote video tile", async () => (await page.locator("#tiles .tile").count()) === 2);
      }
      const s = await state(pages[0]);
      assert.deepEqual(Object.values(s.roster).map((a) => a.externalUserId.replace(/#.*/, "")).sort(), ["Ada", "Grace"]);
    } finally {
      for (const page of pages) await page.context().close();
    }
  });
});
