package model

import (
	"strings"
	"testing"
)

// IsGUID accepts exactly what the model's pattern does.
func TestIsGUIDIsThePattern(t *testing.T) {
	pattern := mustPattern(`[a-fA-F0-9]{8}(?:-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12}`)
	valid := "0195f3a2-1c2b-7D4E-8f90-A1B2C3D4E5F6"
	inputs := []string{"", valid, valid + "0", valid[1:], " " + valid[1:], strings.ReplaceAll(valid, "-", "_"),
		"0195f3a21c2b-7d4e-8f90-a1b2c3d4e5f6-", "g195f3a2-1c2b-7d4e-8f90-a1b2c3d4e5f6", "0195f3a2-1c2b-7d4e-8f90-a1b2c3d4e5f\n"}
	for i := range len(valid) {
		for _, c := range []byte{'-', 'z', 'F', '0', 0xc3} {
			b := []byte(valid)
			b[i] = c
			inputs = append(inputs, string(b))
		}
	}
	for _, s := range inputs {
		if IsGUID(s) != pattern.MatchString(s) {
			t.Errorf("IsGUID(%q) = %v, the pattern says %v", s, IsGUID(s), !IsGUID(s))
		}
	}
}
