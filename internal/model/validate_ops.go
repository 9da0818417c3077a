package model

import (
	"strconv"
	"strings"
)

// Validate checks every rule of the model and of the API reference that the
// request alone can decide. Rules that depend on stored state (capabilities
// against the meeting's features, capacity) belong to the meetings service.

func (in *CreateMeetingInput) Validate() error {
	var v violations
	in.validate(&v)
	return v.err()
}

func (in *CreateMeetingInput) validate(v *violations) {
	v.required("clientRequestToken", in.ClientRequestToken, ruleClientRequestToken)
	v.required("mediaRegion", in.MediaRegion, ruleMediaRegion)
	if in.MediaRegion != "" && len(in.MediaRegion) >= ruleMediaRegion.min && len(in.MediaRegion) <= ruleMediaRegion.max && !isMediaRegion(in.MediaRegion) {
		v.rule("Value '%s' at 'mediaRegion' is not a supported media region: use one of [%s]", in.MediaRegion, strings.Join(mediaRegions, ", "))
	}
	v.optional("meetingHostId", in.MeetingHostId, ruleExternalUserID)
	v.required("externalMeetingId", in.ExternalMeetingId, ruleExternalMeetingID)
	if in.NotificationsConfiguration != nil {
		validateNotifications(v, in.NotificationsConfiguration)
	}
	if in.MeetingFeatures != nil {
		validateFeatures(v, in.MeetingFeatures)
	}
	if in.PrimaryMeetingId != "" {
		v.checkString("primaryMeetingId", in.PrimaryMeetingId, rulePrimaryMeetingID)
		if len(in.PrimaryMeetingId) >= 2 && len(in.PrimaryMeetingId) <= 64 && !IsGUID(in.PrimaryMeetingId) {
			v.rule("Value '%s' at 'primaryMeetingId' is not a valid meeting ID", in.PrimaryMeetingId)
		}
	}
	if in.TenantIds != nil && v.listLength("tenantIds", len(in.TenantIds), 1, 5) {
		for i, t := range in.TenantIds {
			path := member("tenantIds", i, "")
			v.required(path, t, ruleTenantID)
			if hasLongRun(t) {
				v.add(path, t, true, "Member must not repeat one character four or more times in a row")
			}
		}
	}
	validateTags(v, "tags", in.Tags)
	v.optional("mediaPlacementNetworkType", in.MediaPlacementNetworkType, ruleNetworkType)
}

func isMediaRegion(r string) bool {
	for _, m := range mediaRegions {
		if r == m {
			return true
		}
	}
	return false
}

func validateNotifications(v *violations, n *NotificationsConfiguration) {
	check := func(path, arn, service string) {
		if arn == "" {
			return
		}
		v.checkString(path, arn, ruleArn)
		if a, err := ParseARN(arn); err != nil || a.Service != service || a.Region == "" || a.AccountID == "" {
			v.rule("Value at '%s' is not a valid %s ARN (expected arn:<partition>:%s:<region>:<account-id>:<name>)", path, strings.ToUpper(service), service)
		}
	}
	check("notificationsConfiguration.lambdaFunctionArn", n.LambdaFunctionArn, "lambda")
	check("notificationsConfiguration.snsTopicArn", n.SnsTopicArn, "sns")
	check("notificationsConfiguration.sqsQueueArn", n.SqsQueueArn, "sqs")
}

func validateFeatures(v *violations, f *MeetingFeaturesConfiguration) {
	if f.Audio != nil {
		v.optional("meetingFeatures.audio.echoReduction", f.Audio.EchoReduction, ruleEchoReduction)
	}
	if f.Video != nil {
		v.optional("meetingFeatures.video.maxResolution", f.Video.MaxResolution, ruleVideoResolution)
	}
	if f.Content != nil {
		v.optional("meetingFeatures.content.maxResolution", f.Content.MaxResolution, ruleContentResolution)
	}
	var maxCount *int
	if f.Attendee != nil && f.Attendee.MaxCount != nil {
		maxCount = f.Attendee.MaxCount
		if *maxCount < 1 {
			v.add("meetingFeatures.attendee.maxCount", strconv.Itoa(*maxCount), true, "Member must have value greater than or equal to 1")
		} else if *maxCount > maxAttendeesPerMeeting {
			v.add("meetingFeatures.attendee.maxCount", strconv.Itoa(*maxCount), true, "Member must have value less than or equal to "+strconv.Itoa(maxAttendeesPerMeeting))
		}
	}
	if f.HighQuality() {
		switch {
		case maxCount == nil:
			v.rule("MeetingFeatures.Attendee.MaxCount is required when MeetingFeatures.Video.MaxResolution is FHD or MeetingFeatures.Content.MaxResolution is UHD")
		case *maxCount > maxAttendeesHighQuality:
			v.rule("MeetingFeatures.Attendee.MaxCount must be at most %d when MeetingFeatures.Video.MaxResolution is FHD or MeetingFeatures.Content.MaxResolution is UHD", maxAttendeesHighQuality)
		}
	}
}

// HighQuality reports whether the meeting uses FHD video or UHD content,
// which lowers the attendee ceiling.
func (f *MeetingFeaturesConfiguration) HighQuality() bool {
	return f != nil && ((f.Video != nil && f.Video.MaxResolution == FHD) || (f.Content != nil && f.Content.MaxResolution == UHD))
}

func validateTags(v *violations, path string, tags []Tag) {
	if tags == nil || !v.listLength(path, len(tags), 0, 50) {
		return
	}
	seen := make(map[string]bool, len(tags))
	for i, t := range tags {
		if t.Key == nil {
			v.missing(member(path, i, "key"))
		} else {
			v.checkString(member(path, i, "key"), *t.Key, ruleTagKey)
			if seen[*t.Key] {
				v.rule("Tag key '%s' appears more than once in '%s'", *t.Key, path)
			}
			seen[*t.Key] = true
		}
		if t.Value == nil {
			v.missing(member(path, i, "value"))
		} else {
			v.checkString(member(path, i, "value"), *t.Value, ruleTagValue)
		}
	}
}

// validateCapabilities checks the members of AttendeeCapabilities: when the
// structure is given, all three members are required.
func validateCapabilities(v *violations, path string, c *AttendeeCapabilities) {
	if c == nil {
		return
	}
	v.required(path+".audio", c.Audio, ruleCapability)
	v.required(path+".video", c.Video, ruleCapability)
	v.required(path+".content", c.Content, ruleCapability)
}

func validateMeetingID(v *violations, id string) {
	validateGUID(v, "meetingId", id)
}

func validateGUID(v *violations, path, id string) {
	if id == "" {
		v.missing(path)
		return
	}
	if !IsGUID(id) {
		v.add(path, id, true, "Member must satisfy regular expression pattern: [a-fA-F0-9]{8}(?:-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12}")
	}
}

func validateAttendeeItems(v *violations, items []CreateAttendeeRequestItem, max int) {
	if items == nil {
		v.missing("attendees")
		return
	}
	if !v.listLength("attendees", len(items), 1, max) {
		return
	}
	for i := range items {
		// Members are named only for an item that breaks a rule: a batch's
		// paths would otherwise cost more than its checks.
		var probe violations
		validateAttendeeItem(&probe, "", "", &items[i])
		if len(probe.msgs) > 0 {
			validateAttendeeItem(v, member("attendees", i, "externalUserId"), member("attendees", i, "capabilities"), &items[i])
		}
	}
}

func validateAttendeeItem(v *violations, idPath, capsPath string, it *CreateAttendeeRequestItem) {
	v.required(idPath, it.ExternalUserId, ruleExternalUserID)
	validateCapabilities(v, capsPath, it.Capabilities)
}

func (in *CreateMeetingWithAttendeesInput) Validate() error {
	var v violations
	in.CreateMeetingInput.validate(&v)
	validateAttendeeItems(&v, in.Attendees, 20)
	return v.err()
}

func (in *GetMeetingInput) Validate() error {
	var v violations
	validateMeetingID(&v, in.MeetingId)
	return v.err()
}

func (in *DeleteMeetingInput) Validate() error {
	var v violations
	validateMeetingID(&v, in.MeetingId)
	return v.err()
}

func (in *CreateAttendeeInput) Validate() error {
	var v violations
	validateMeetingID(&v, in.MeetingId)
	v.required("externalUserId", in.ExternalUserId, ruleExternalUserID)
	validateCapabilities(&v, "capabilities", in.Capabilities)
	return v.err()
}

func (in *BatchCreateAttendeeInput) Validate() error {
	var v violations
	validateMeetingID(&v, in.MeetingId)
	validateAttendeeItems(&v, in.Attendees, 100)
	return v.err()
}

func (in *GetAttendeeInput) Validate() error {
	var v violations
	validateMeetingID(&v, in.MeetingId)
	validateGUID(&v, "attendeeId", in.AttendeeId)
	return v.err()
}

func (in *ListAttendeesInput) Validate() error {
	var v violations
	validateMeetingID(&v, in.MeetingId)
	v.optional("nextToken", in.NextToken, ruleString)
	if in.MaxResults != nil {
		if n := *in.MaxResults; n < 1 {
			v.add("maxResults", strconv.Itoa(n), true, "Member must have value greater than or equal to 1")
		} else if n > 100 {
			v.add("maxResults", strconv.Itoa(n), true, "Member must have value less than or equal to 100")
		}
	}
	return v.err()
}

func (in *DeleteAttendeeInput) Validate() error {
	var v violations
	validateMeetingID(&v, in.MeetingId)
	validateGUID(&v, "attendeeId", in.AttendeeId)
	return v.err()
}

func (in *UpdateAttendeeCapabilitiesInput) Validate() error {
	var v violations
	validateMeetingID(&v, in.MeetingId)
	validateGUID(&v, "attendeeId", in.AttendeeId)
	if in.Capabilities == nil {
		v.missing("capabilities")
	}
	validateCapabilities(&v, "capabilities", in.Capabilities)
	return v.err()
}

func (in *BatchUpdateAttendeeCapabilitiesExceptInput) Validate() error {
	var v violations
	validateMeetingID(&v, in.MeetingId)
	if in.ExcludedAttendeeIds == nil {
		v.missing("excludedAttendeeIds")
	} else if v.listLength("excludedAttendeeIds", len(in.ExcludedAttendeeIds), 1, 250) {
		for i, item := range in.ExcludedAttendeeIds {
			validateGUID(&v, member("excludedAttendeeIds", i, "attendeeId"), item.AttendeeId)
		}
	}
	if in.Capabilities == nil {
		v.missing("capabilities")
	}
	validateCapabilities(&v, "capabilities", in.Capabilities)
	return v.err()
}

func (in *StartMeetingTranscriptionInput) Validate() error {
	var v violations
	validateMeetingID(&v, in.MeetingId)
	c := in.TranscriptionConfiguration
	if c == nil {
		v.missing("transcriptionConfiguration")
		return v.err()
	}
	switch {
	case c.EngineTranscribeSettings == nil && c.EngineTranscribeMedicalSettings == nil:
		v.rule("TranscriptionConfiguration must contain EngineTranscribeSettings or EngineTranscribeMedicalSettings")
	case c.EngineTranscribeSettings != nil && c.EngineTranscribeMedicalSettings != nil:
		v.rule("TranscriptionConfiguration must contain only one of EngineTranscribeSettings and EngineTranscribeMedicalSettings")
	case c.EngineTranscribeSettings != nil:
		validateTranscribe(&v, c.EngineTranscribeSettings)
	default:
		validateTranscribeMedical(&v, c.EngineTranscribeMedicalSettings)
	}
	return v.err()
}

func validateTranscribe(v *violations, s *EngineTranscribeSettings) {
	const p = "transcriptionConfiguration.engineTranscribeSettings."
	v.optional(p+"languageCode", s.LanguageCode, ruleTranscribeLanguage)
	v.optional(p+"vocabularyFilterMethod", s.VocabularyFilterMethod, ruleFilterMethod)
	v.optional(p+"vocabularyFilterName", s.VocabularyFilterName, ruleString)
	v.optional(p+"vocabularyName", s.VocabularyName, ruleString)
	v.optional(p+"region", s.Region, ruleTranscribeRegion)
	v.optional(p+"partialResultsStability", s.PartialResultsStability, ruleStability)
	v.optional(p+"contentIdentificationType", s.ContentIdentificationType, rulePII)
	v.optional(p+"contentRedactionType", s.ContentRedactionType, rulePII)
	v.optional(p+"piiEntityTypes", s.PiiEntityTypes, rulePiiEntityTypes)
	v.optional(p+"languageModelName", s.LanguageModelName, ruleLanguageModelName)
	v.optional(p+"languageOptions", s.LanguageOptions, ruleLanguageOptions)
	v.optional(p+"preferredLanguage", s.PreferredLanguage, ruleTranscribeLanguage)
	v.optional(p+"vocabularyNames", s.VocabularyNames, ruleVocabularyNames)
	v.optional(p+"vocabularyFilterNames", s.VocabularyFilterNames, ruleVocabularyNames)

	// The combination rules of Amazon Transcribe's StartStreamTranscription.
	// The real service reports these asynchronously (a failed-transcription
	// event); refusing them up front tells the developer at once.
	identify := s.IdentifyLanguage != nil && *s.IdentifyLanguage
	if s.LanguageCode == "" && !identify {
		v.rule("EngineTranscribeSettings must include LanguageCode or set IdentifyLanguage")
	}
	if s.LanguageCode != "" && identify {
		v.rule("EngineTranscribeSettings cannot include both LanguageCode and IdentifyLanguage")
	}
	if s.ContentIdentificationType != "" && s.ContentRedactionType != "" {
		v.rule("EngineTranscribeSettings cannot include both ContentIdentificationType and ContentRedactionType")
	}
	if s.PiiEntityTypes != "" && s.ContentIdentificationType == "" && s.ContentRedactionType == "" {
		v.rule("EngineTranscribeSettings.PiiEntityTypes requires ContentIdentificationType or ContentRedactionType")
	}
	if s.LanguageOptions != "" && !identify {
		v.rule("EngineTranscribeSettings.LanguageOptions requires IdentifyLanguage")
	}
	if s.PreferredLanguage != "" && (!identify || s.LanguageOptions == "") {
		v.rule("EngineTranscribeSettings.PreferredLanguage requires IdentifyLanguage and LanguageOptions")
	}
	if identify && (s.LanguageModelName != "" || s.ContentRedactionType != "") {
		v.rule("EngineTranscribeSettings.IdentifyLanguage cannot be combined with LanguageModelName or ContentRedactionType")
	}
	if s.PartialResultsStability != "" && (s.EnablePartialResultsStabilization == nil || !*s.EnablePartialResultsStabilization) {
		v.rule("EngineTranscribeSettings.PartialResultsStability requires EnablePartialResultsStabilization")
	}
}

func validateTranscribeMedical(v *violations, s *EngineTranscribeMedicalSettings) {
	const p = "transcriptionConfiguration.engineTranscribeMedicalSettings."
	v.required(p+"languageCode", s.LanguageCode, ruleMedicalLanguage)
	v.required(p+"specialty", s.Specialty, ruleMedicalSpecialty)
	v.required(p+"type", s.Type, ruleMedicalType)
	v.optional(p+"vocabularyName", s.VocabularyName, ruleString)
	v.optional(p+"region", s.Region, ruleMedicalRegion)
	v.optional(p+"contentIdentificationType", s.ContentIdentificationType, rulePHI)
}

func (in *StopMeetingTranscriptionInput) Validate() error {
	var v violations
	validateMeetingID(&v, in.MeetingId)
	return v.err()
}

func (in *TagResourceInput) Validate() error {
	var v violations
	v.required("resourceARN", in.ResourceARN, ruleResourceName)
	if in.Tags == nil {
		v.missing("tags")
	}
	validateTags(&v, "tags", in.Tags)
	return v.err()
}

func (in *UntagResourceInput) Validate() error {
	var v violations
	v.required("resourceARN", in.ResourceARN, ruleResourceName)
	if in.TagKeys == nil {
		v.missing("tagKeys")
	} else if v.listLength("tagKeys", len(in.TagKeys), 0, 50) {
		for i, k := range in.TagKeys {
			v.required(member("tagKeys", i, ""), k, ruleTagKey)
		}
	}
	return v.err()
}

func (in *ListTagsForResourceInput) Validate() error {
	var v violations
	v.required("resourceARN", in.ResourceARN, ruleResourceName)
	return v.err()
}
