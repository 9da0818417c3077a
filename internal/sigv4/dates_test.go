package sigv4

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// parseStrictly is the reference for the hand-written date parsers: what
// time.Parse accepts and formats back unchanged.
func parseStrictly(layout, v string) (time.Time, bool) {
	t, err := time.Parse(layout, v)
	return t, err == nil && t.Format(layout) == v
}

func TestDateParsersMatchTimeParse(t *testing.T) {
	var cases []string
	for _, y := range []string{"0000", "0001", "1900", "1970", "2000", "2024", "2026", "2100", "9999"} {
		for m := 0; m <= 13; m++ {
			for d := 0; d <= 32; d++ {
				cases = append(cases, fmt.Sprintf("%s%02d%02d", y, m, d))
			}
		}
	}
	days := len(cases)
	for _, day := range []string{"20240229", "20260101", "20261231"} {
		for _, h := range []int{0, 9, 23, 24, 99} {
			for _, m := range []int{0, 59, 60} {
				for _, s := range []int{0, 59, 60, 61} {
					cases = append(cases, fmt.Sprintf("%sT%02d%02d%02dZ", day, h, m, s))
				}
			}
		}
	}
	// Every position of a valid time swapped for a character that is not
	// what belongs there, and random strings.
	valid := "20261127T235959Z"
	for i := range valid {
		for _, c := range []byte{' ', '+', '-', '/', ':', 'T', 'Z', 'z', '0', '9', 0, 0xff} {
			b := []byte(valid)
			b[i] = c
			cases = append(cases, string(b))
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "0123456789TZ+- :"
	for range 20000 {
		b := make([]byte, 8+8*rng.IntN(2))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		cases = append(cases, string(b))
	}
	cases = append(cases, "", "2026", "20261127T", "20261127T235959", "20261127T235959ZZ", "2026-11-27")

	accepted := 0
	for i, v := range cases {
		want, wantOK := parseStrictly(amzDateLayout, v)
		got, ok := parseAmzDate(v)
		if ok != wantOK || !got.Equal(want) && ok {
			t.Errorf("parseAmzDate(%q) = %v, %v; time.Parse: %v, %v", v, got, ok, want, wantOK)
		}
		want, wantOK = parseStrictly(scopeDateLayout, v)
		got, ok = parseScopeDate(v)
		if ok != wantOK || !got.Equal(want) && ok {
			t.Errorf("parseScopeDate(%q) = %v, %v; time.Parse: %v, %v", v, got, ok, want, wantOK)
		}
		if ok && i < days {
			accepted++
		}
	}
	if accepted < 9*12*28 {
		t.Errorf("only %d calendar days accepted", accepted)
	}
}
