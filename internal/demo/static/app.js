// Carillon's demo: the Amazon Chime SDK browser client, unchanged, joining a
// meeting hosted by this server. window.carillon exposes the session and
// what the client's observers reported, for the browser tests.
import Chime from './sdk.js';

const $ = (selector) => document.querySelector(selector);

const statusNames = Object.fromEntries(
  Object.entries(Chime.MeetingSessionStatusCode)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => [v, k]),
);

// What the client told us, in plain data.
const state = {
  self: null,
  started: false,
  stopped: null, // the MeetingSessionStatusCode number once stopped
  stoppedName: null,
  roster: {}, // attendeeId -> { externalUserId, muted, volume, signal }
  maxVolume: {}, // attendeeId -> the loudest volume seen
  departures: [], // { attendeeId, dropped }
  tiles: {}, // tileId -> { attendeeId, local }
  messages: [], // { from, externalUserId, text, throttled, timestampMs }
};

let session = null;

function setStatus(text) {
  $('#status').textContent = text;
}

function displayName(externalUserId) {
  return (externalUserId || '').replace(/#[0-9a-f]{6}$/, '');
}

function render() {
  const roster = $('#roster');
  roster.replaceChildren(
    ...Object.entries(state.roster).map(([id, a]) => {
      const li = document.createElement('li');
      li.dataset.attendeeId = id;
      const meter = document.createElement('meter');
      meter.max = 1;
      meter.value = a.volume || 0;
      const name = document.createElement('span');
      name.textContent = displayName(a.externalUserId) + (id === state.self ? ' (you)' : '');
      const mute = document.createElement('span');
      mute.className = 'muted';
      mute.textContent = a.muted ? 'muted' : '';
      li.append(meter, name, mute);
      return li;
    }),
  );
  const messages = $('#messages');
  messages.replaceChildren(
    ...state.messages.map((m) => {
      const li = document.createElement('li');
      li.textContent = `${displayName(m.externalUserId)}: ${m.text}${m.throttled ? ' (throttled)' : ''}`;
      return li;
    }),
  );
}

function bindTile(av, tile) {
  const id = String(tile.tileId);
  let box = document.getElementById('tile-' + id);
  if (!box) {
    box = document.createElement('div');
    box.className = 'tile';
    box.id = 'tile-' + id;
    const video = document.createElement('video');
    video.autoplay = true;
    video.muted = true;
    video.playsInline = true;
    const label = document.createElement('span');
    box.append(video, label);
    $('#tiles').append(box);
  }
  const a = state.roster[tile.boundAttendeeId];
  box.querySelector('span').textContent = tile.localTile ? 'You' : displayName(tile.boundExternalUserId || a?.externalUserId);
  state.tiles[id] = { attendeeId: tile.boundAttendeeId, local: tile.localTile };
  av.bindVideoElement(tile.tileId, box.querySelector('video'));
}

function removeTile(tileId) {
  document.getElementById('tile-' + tileId)?.remove();
  delete state.tiles[String(tileId)];
}

// join starts a session for a Meeting and an Attendee as the API returned
// them. It resolves once the client has started (or failed to).
async function join(meeting, attendee, { camera = true, microphone = true, logLevel = 'WARN' } = {}) {
  const logger = new Chime.ConsoleLogger('carillon-demo', Chime.LogLevel[logLevel]);
  const devices = new Chime.DefaultDeviceController(logger);
  const config = new Chime.MeetingSessionConfiguration({ Meeting: meeting }, { Attendee: attendee });
  session = new Chime.DefaultMeetingSession(config, logger, devices);
  window.carillon.session = session;
  const av = session.audioVideo;
  state.self = attendee.AttendeeId;
  $('#meeting-title').textContent = meeting.ExternalMeetingId || meeting.MeetingId;

  const settled = new Promise((resolve) => {
    av.addObserver({
      audioVideoDidStart() {
        state.started = true;
        setStatus('connected');
        if (camera) av.startLocalVideoTile();
        resolve();
      },
      audioVideoDidStop(status) {
        state.stopped = status.statusCode();
        state.stoppedName = statusNames[state.stopped];
        setStatus('stopped: ' + state.stoppedName);
        resolve();
      },
      videoTileDidUpdate(tile) {
        if (tile.boundAttendeeId) bindTile(av, tile);
      },
      videoTileWasRemoved(tileId) {
        removeTile(tileId);
      },
    });
  });

  av.realtimeSubscribeToAttendeeIdPresence((attendeeId, present, externalUserId, dropped) => {
    if (present) {
      if (!state.roster[attendeeId]) {
        state.roster[attendeeId] = { externalUserId, muted: false, volume: 0, signal: 1 };
        av.realtimeSubscribeToVolumeIndicator(attendeeId, (id, volume, muted, signal) => {
          const a = state.roster[id];
          if (!a) return;
          if (volume !== null) {
            a.volume = volume;
            state.maxVolume[id] = Math.max(state.maxVolume[id] ?? 0, volume);
          }
          if (muted !== null) a.muted = muted;
          if (signal !== null) a.signal = signal;
          render();
        });
      }
    } else {
      delete state.roster[attendeeId];
      av.realtimeUnsubscribeFromVolumeIndicator(attendeeId);
      state.departures.push({ attendeeId, dropped: !!dropped });
    }
    render();
  });

  av.realtimeSubscribeToReceiveDataMessage('chat', (m) => {
    state.messages.push({
      from: m.senderAttendeeId,
      externalUserId: m.senderExternalUserId,
      text: m.text(),
      throttled: m.throttled,
      timestampMs: m.timestampMs,
    });
    render();
  });

  if (microphone) {
    const mics = await av.listAudioInputDevices();
    if (mics.length) await av.startAudioInput(mics[0].deviceId);
  }
  if (camera) {
    const cams = await av.listVideoInputDevices();
    if (cams.length) await av.startVideoInput(cams[0].deviceId);
  }
  await av.bindAudioElement($('#audio'));
  setStatus('connecting');
  av.start();
  await settled;
  return state.started;
}

function sendChat(text) {
  session.audioVideo.realtimeSendDataMessage('chat', text, 60000);
  state.messages.push({ from: state.self, externalUserId: state.roster[state.self]?.externalUserId, text, throttled: false, timestampMs: Date.now() });
  render();
}

function setMuted(muted) {
  const av = session.audioVideo;
  if (muted) av.realtimeMuteLocalAudio();
  else av.realtimeUnmuteLocalAudio();
  $('#mute').textContent = muted ? 'Unmute' : 'Mute';
  $('#mute').classList.toggle('off', muted);
}

async function setCamera(on) {
  const av = session.audioVideo;
  if (on) {
    const cams = await av.listVideoInputDevices();
    if (cams.length) await av.startVideoInput(cams[0].deviceId);
    av.startLocalVideoTile();
  } else {
    av.stopLocalVideoTile();
    await av.stopVideoInput();
  }
  $('#camera').textContent = on ? 'Stop camera' : 'Start camera';
  $('#camera').classList.toggle('off', !on);
}

async function leave() {
  session?.audioVideo.stop();
}

window.carillon = { Chime, state, join, leave, sendChat, setMuted, setCamera, session: null };

// The form: the server creates (or finds) the meeting and an attendee.
const params = new URLSearchParams(location.search);
$('#meeting-name').value = params.get('m') || '';
$('#join-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const error = $('#join-error');
  error.hidden = true;
  $('#join').disabled = true;
  try {
    const res = await fetch('/demo/join', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ meeting: $('#meeting-name').value, name: $('#your-name').value }),
    });
    const body = await res.json();
    if (!res.ok) throw new Error(body.message || res.statusText);
    history.replaceState(null, '', '?m=' + encodeURIComponent($('#meeting-name').value.trim()));
    $('#join-form').hidden = true;
    $('#meeting').hidden = false;
    await join(body.Meeting, body.Attendee, { camera: $('#with-camera').checked, microphone: $('#with-mic').checked });
  } catch (err) {
    error.textContent = String(err.message || err);
    error.hidden = false;
    $('#join').disabled = false;
  }
});

let muted = false;
$('#mute').addEventListener('click', () => setMuted((muted = !muted)));
let cameraOn = true;
$('#camera').addEventListener('click', () => setCamera((cameraOn = !cameraOn)));
$('#leave').addEventListener('click', leave);
$('#chat-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('#chat-text').value.trim();
  if (text) sendChat(text);
  $('#chat-text').value = '';
});
