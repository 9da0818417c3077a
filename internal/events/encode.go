package events

import (
	"strconv"
	"unicode/utf8"
)

// The outbox stores every event rendered, and for most changes the event is
// the largest thing a write transaction builds: encoding/json's reflection
// cost as much as the rest of adding an attendee's row. appendJSON writes
// the same bytes json.Marshal would (the tests compare the two), with no
// reflection.

func (e *Envelope) appendJSON(b []byte) []byte {
	b = append(b, `{"version":`...)
	b = appendString(b, e.Version)
	b = append(b, `,"id":`...)
	b = appendString(b, e.ID)
	b = append(b, `,"detail-type":`...)
	b = appendString(b, e.DetailType)
	b = append(b, `,"source":`...)
	b = appendString(b, e.Source)
	b = append(b, `,"account":`...)
	b = appendString(b, e.Account)
	b = append(b, `,"time":`...)
	b = appendString(b, e.Time)
	b = append(b, `,"region":`...)
	b = appendString(b, e.Region)
	b = append(b, `,"resources":`...)
	if e.Resources == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, r := range e.Resources {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, r)
		}
		b = append(b, ']')
	}
	b = append(b, `,"detail":`...)
	b = e.Detail.appendJSON(b)
	return append(b, '}')
}

func (d *Detail) appendJSON(b []byte) []byte {
	b = append(b, `{"version":`...)
	b = appendString(b, d.Version)
	b = append(b, `,"eventType":`...)
	b = appendString(b, d.EventType)
	b = append(b, `,"timestamp":`...)
	b = strconv.AppendInt(b, d.Timestamp, 10)
	b = append(b, `,"meetingId":`...)
	b = appendString(b, d.MeetingID)
	return append(d.appendVariable(b), '}')
}

// appendVariable writes the members after meetingId, those that differ
// from one event of a type to the next, each behind a comma.
func (d *Detail) appendVariable(b []byte) []byte {
	b = appendOptional(b, `,"externalMeetingId":`, d.ExternalMeetingID)
	b = appendOptional(b, `,"attendeeId":`, d.AttendeeID)
	b = appendOptional(b, `,"externalUserId":`, d.ExternalUserID)
	b = appendOptional(b, `,"networkType":`, d.NetworkType)
	b = append(b, `,"mediaRegion":`...)
	b = appendString(b, d.MediaRegion)
	b = appendOptional(b, `,"transcriptionRegion":`, d.TranscriptionRegion)
	b = appendOptional(b, `,"transcriptionConfiguration":`, d.TranscriptionConfiguration)
	b = appendOptional(b, `,"message":`, d.Message)
	b = appendOptional(b, `,"success":`, d.Success)
	if c := d.AttendeeCapabilities; c != nil {
		b = append(b, `,"attendeeCapabilities":{"audio":`...)
		b = appendString(b, c.Audio)
		b = append(b, `,"video":`...)
		b = appendString(b, c.Video)
		b = append(b, `,"content":`...)
		b = appendString(b, c.Content)
		b = append(b, '}')
	}
	return b
}

// appendOptional writes an omitempty string member.
func appendOptional(b []byte, member, s string) []byte {
	if s == "" {
		return b
	}
	return appendString(append(b, member...), s)
}

// appendString writes s as a JSON string exactly as encoding/json does:
// HTML-sensitive characters, U+2028 and U+2029 escaped, invalid UTF-8 as
// U+FFFD.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// What the outbox keeps of an event is what its columns (ID, type, meeting,
// account, time) do not: the API region and the variable members of the
// detail, about 190 bytes where the rendered envelope takes 580. Every
// change writes one inside the single writer's transaction, so the bytes
// saved there are the writer's; the envelope is rendered when the event is
// delivered (Payload).
const storedPrefix = `{"region":`

func (d *Detail) appendStored(b []byte, region string) []byte {
	b = append(b, storedPrefix...)
	b = appendString(b, region)
	b = append(b, `,"detail":{"version":"0"`...)
	return append(d.appendVariable(b), "}}"...)
}
