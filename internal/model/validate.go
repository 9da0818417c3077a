package model

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/carillon-dev/carillon/internal/apierr"
)

// Validation reports every violated constraint of a request at once, in the
// form AWS services use ("2 validation errors detected: Value 'x' at
// 'capabilities.audio' failed to satisfy constraint: ..."), with field paths
// in lower camel case, list members numbered from 1.
type violations struct {
	msgs []string
}

// maxShown bounds how much of a rejected value is echoed back.
const maxShown = 64

func (v *violations) add(path, value string, show bool, constraint string) {
	if show {
		if utf8.RuneCountInString(value) > maxShown {
			value = string([]rune(value)[:maxShown]) + "..."
		}
		v.msgs = append(v.msgs, fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: %s", value, path, constraint))
		return
	}
	v.msgs = append(v.msgs, fmt.Sprintf("Value at '%s' failed to satisfy constraint: %s", path, constraint))
}

func (v *violations) missing(path string) {
	v.msgs = append(v.msgs, fmt.Sprintf("Value null at '%s' failed to satisfy constraint: Member must not be null", path))
}

// rule adds a free-form message for rules that are not simple constraints.
func (v *violations) rule(format string, args ...any) {
	v.msgs = append(v.msgs, fmt.Sprintf(format, args...))
}

func (v *violations) err() error {
	switch len(v.msgs) {
	case 0:
		return nil
	case 1:
		return apierr.BadRequestf("1 validation error detected: %s", v.msgs[0])
	default:
		return apierr.BadRequestf("%d validation errors detected: %s", len(v.msgs), strings.Join(v.msgs, "; "))
	}
}

// stringRule is the constraint set of one string shape of the model.
type stringRule struct {
	min, max int
	pattern  *regexp.Regexp
	// runes, when set, is the pattern checked by hand, a rune at a time:
	// for a pattern that is one character class, repeated.
	runes     func(rune) bool
	enum      []string
	sensitive bool // never echo the value
	// reservedPrefix refuses values starting with "aws:" in any case.
	reservedPrefix bool
}

func (r stringRule) matches(s string) bool {
	if r.runes == nil {
		return r.pattern.MatchString(s)
	}
	for _, c := range s {
		if !r.runes(c) {
			return false
		}
	}
	return true
}

// externalUserIDRune reports whether c is in externalUserIDPattern's class,
// checked by hand because every attendee added checks it. (\s is RE2's
// ASCII whitespace.)
func externalUserIDRune(c rune) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', 'À' <= c && c <= 'ÿ':
		return true
	}
	return strings.ContainsRune("-_&@+=,(){}[]/«».:|'\"#\t\n\f\r ", c)
}

// mustPattern anchors a model pattern: AWS matches a pattern against the
// whole value, and an unanchored `[a-z]*` would otherwise match anything.
func mustPattern(p string) *regexp.Regexp {
	return regexp.MustCompile(`^(?:` + p + `)$`)
}

// Patterns and rules of the model's string shapes. These are read-only.
var (
	clientRequestTokenPattern = mustPattern(`[-_a-zA-Z0-9]*`)
	externalUserIDPattern     = mustPattern(`[-_&@+=,(){}\[\]\/«».:|'"#a-zA-Z0-9À-ÿ\s]*`)
	tenantIDPattern           = mustPattern(`[-_!@#$a-zA-Z0-9]*`)
	arnPattern                = mustPattern(`arn[\/\:\-\_\.a-zA-Z0-9]+`)
	resourceNamePattern       = mustPattern(`arn:.*`)
	tagKeyPattern             = mustPattern(`[a-zA-Z+-=._:/]+`)
	tagValuePattern           = mustPattern(`[\s\w+-=\.:/@]*`)
	languageModelPattern      = mustPattern(`[0-9a-zA-Z._-]+`)
	languageOptionsPattern    = mustPattern(`[a-zA-Z-,]+`)
	piiEntityTypesPattern     = mustPattern(`[A-Z_, ]+`)
	vocabularyNamesPattern    = mustPattern(`[a-zA-Z0-9,-._]+`)
)

var (
	ruleClientRequestToken = stringRule{min: 2, max: 64, pattern: clientRequestTokenPattern, sensitive: true}
	ruleExternalUserID     = stringRule{min: 2, max: 64, pattern: externalUserIDPattern, runes: externalUserIDRune, sensitive: true, reservedPrefix: true}
	ruleExternalMeetingID  = stringRule{min: 2, max: 64, sensitive: true, reservedPrefix: true}
	ruleMediaRegion        = stringRule{min: 2, max: 64}
	rulePrimaryMeetingID   = stringRule{min: 2, max: 64}
	ruleTenantID           = stringRule{min: 2, max: 256, pattern: tenantIDPattern}
	ruleArn                = stringRule{min: 1, max: 1024, pattern: arnPattern, sensitive: true}
	ruleResourceName       = stringRule{min: 1, max: 1011, pattern: resourceNamePattern}
	ruleTagKey             = stringRule{min: 1, max: 128, pattern: tagKeyPattern, reservedPrefix: true}
	ruleTagValue           = stringRule{max: 256, pattern: tagValuePattern}
	ruleString             = stringRule{max: 4096}
	ruleLanguageModelName  = stringRule{min: 1, max: 200, pattern: languageModelPattern}
	ruleLanguageOptions    = stringRule{min: 1, max: 200, pattern: languageOptionsPattern}
	rulePiiEntityTypes     = stringRule{min: 1, max: 300, pattern: piiEntityTypesPattern}
	ruleVocabularyNames    = stringRule{min: 1, max: 3000, pattern: vocabularyNamesPattern}

	ruleCapability          = enumRule(SendReceive, Send, Receive, None)
	ruleEchoReduction       = enumRule(Available, Unavailable)
	ruleVideoResolution     = enumRule(None, HD, FHD)
	ruleContentResolution   = enumRule(None, FHD, UHD)
	ruleNetworkType         = enumRule("Ipv4Only", "DualStack")
	ruleTranscribeLanguage  = enumRule("en-US", "en-GB", "es-US", "fr-CA", "fr-FR", "en-AU", "it-IT", "de-DE", "pt-BR", "ja-JP", "ko-KR", "zh-CN", "th-TH", "hi-IN")
	ruleTranscribeRegion    = enumRule("us-east-2", "us-east-1", "us-west-2", "ap-northeast-2", "ap-southeast-2", "ap-northeast-1", "ca-central-1", "eu-central-1", "eu-west-1", "eu-west-2", "sa-east-1", "auto", "us-gov-west-1")
	ruleFilterMethod        = enumRule("remove", "mask", "tag")
	ruleStability           = enumRule("low", "medium", "high")
	rulePII                 = enumRule("PII")
	rulePHI                 = enumRule("PHI")
	ruleMedicalLanguage     = enumRule("en-US")
	ruleMedicalSpecialty    = enumRule("PRIMARYCARE", "CARDIOLOGY", "NEUROLOGY", "ONCOLOGY", "RADIOLOGY", "UROLOGY")
	ruleMedicalType         = enumRule("CONVERSATION", "DICTATION")
	ruleMedicalRegion       = enumRule("us-east-1", "us-east-2", "us-west-2", "ap-southeast-2", "ca-central-1", "eu-west-1", "auto")
	mediaRegions            = []string{"af-south-1", "ap-northeast-1", "ap-northeast-2", "ap-south-1", "ap-southeast-1", "ap-southeast-2", "ca-central-1", "eu-central-1", "eu-north-1", "eu-south-1", "eu-west-1", "eu-west-2", "eu-west-3", "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2", "us-gov-east-1", "us-gov-west-1"}
	maxAttendeesPerMeeting  = 250
	maxAttendeesHighQuality = 25
)

func enumRule(values ...string) stringRule { return stringRule{enum: values} }

// MediaRegions returns the media regions a meeting may be created in.
func MediaRegions() []string { return append([]string(nil), mediaRegions...) }

// checkString validates one present string member against its rule.
func (v *violations) checkString(path, value string, r stringRule) {
	n := utf8.RuneCountInString(value)
	show := !r.sensitive
	if len(r.enum) > 0 {
		for _, e := range r.enum {
			if value == e {
				return
			}
		}
		v.add(path, value, true, "Member must satisfy enum value set: ["+strings.Join(r.enum, ", ")+"]")
		return
	}
	if n < r.min {
		v.add(path, value, show, "Member must have length greater than or equal to "+strconv.Itoa(r.min))
		return
	}
	if r.max > 0 && n > r.max {
		v.add(path, value, false, "Member must have length less than or equal to "+strconv.Itoa(r.max))
		return
	}
	if !utf8.ValidString(value) {
		v.add(path, "", false, "Member must be valid UTF-8")
		return
	}
	if r.pattern != nil && !r.matches(value) {
		v.add(path, value, show, "Member must satisfy regular expression pattern: "+strings.TrimSuffix(strings.TrimPrefix(r.pattern.String(), "^(?:"), ")$"))
		return
	}
	if r.reservedPrefix && len(value) >= 4 && strings.EqualFold(value[:4], "aws:") {
		v.add(path, "", false, "Member must not begin with the reserved prefix 'aws:'")
	}
}

// required validates a string member the model marks as required; empty
// counts as absent because every such member has a minimum length.
func (v *violations) required(path, value string, r stringRule) {
	if value == "" {
		v.missing(path)
		return
	}
	v.checkString(path, value, r)
}

// optional validates a string member only when it is present.
func (v *violations) optional(path, value string, r stringRule) {
	if value != "" {
		v.checkString(path, value, r)
	}
}

func (v *violations) listLength(path string, n, min, max int) bool {
	if n < min {
		v.add(path, "", false, "Member must have length greater than or equal to "+strconv.Itoa(min))
		return false
	}
	if n > max {
		v.add(path, "", false, "Member must have length less than or equal to "+strconv.Itoa(max))
		return false
	}
	return true
}

func member(list string, i int, field string) string {
	p := list + "." + strconv.Itoa(i+1) + ".member"
	if field != "" {
		p += "." + field
	}
	return p
}

// IsGUID reports whether s has the 8-4-4-4-12 hex form of meeting and
// attendee IDs: the model's pattern
// [a-fA-F0-9]{8}(?:-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12}, checked by hand
// because every request that names a meeting checks it.
func IsGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// hasLongRun reports whether s holds one character four or more times in a
// row, which the TenantId pattern forbids with a look-ahead RE2 lacks.
func hasLongRun(s string) bool {
	run, prev := 0, rune(-1)
	for _, r := range s {
		if r == prev {
			run++
			if run >= 4 {
				return true
			}
		} else {
			prev, run = r, 1
		}
	}
	return false
}
