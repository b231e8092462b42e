package repository

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEscapeHostileNames(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"orders", "orders"},
		{"Order_2024-01.v2", "Order_2024-01.v2"},
		{".", "%2E"},
		{"..", "%2E%2E"},
		{"...", "%2E%2E%2E"},
		{"../etc", "..%2Fetc"},
		{"a/b", "a%2Fb"},
		{"50%", "50%25"},
		{"%2F", "%252F"},
		{"my table", "my%20table"},
		{"tab\there\nnl\x00nul\x7f", "tab%09here%0Anl%00nul%7F"},
		{"a#b?c&d=e+f", "a%23b%3Fc%26d%3De%2Bf"},
		{`back\slash"quote'`, "back%5Cslash%22quote%27"},
		{"訂單", "訂單"},
		{"Straße", "Straße"},
		{"naïve", "naïve"},
		{"emoji😀", "emoji%F0%9F%98%80"},
		{"rtl\u202eoverride", "rtl%E2%80%AEoverride"},
		{"zero\u200bwidth", "zero%E2%80%8Bwidth"},
		{"bad\xffutf8", "bad%FFutf8"},
		{"`x`", "%60x%60"},
	} {
		got, err := Escape(tc.name)
		if err != nil {
			t.Errorf("Escape(%q): %v", tc.name, err)
			continue
		}
		if got != tc.want {
			t.Errorf("Escape(%q) = %q, want %q", tc.name, got, tc.want)
		}
		back, err := Unescape(got)
		if err != nil || back != tc.name {
			t.Errorf("Unescape(%q) = %q, %v; want %q", got, back, err, tc.name)
		}
		if strings.Contains(got, "/") || got == "." || got == ".." {
			t.Errorf("Escape(%q) = %q is not a safe segment", tc.name, got)
		}
		for _, r := range got {
			if r < 0x20 || r == 0x7f {
				t.Errorf("Escape(%q) = %q keeps a control character", tc.name, got)
			}
		}
		if !utf8.ValidString(got) {
			t.Errorf("Escape(%q) = %q is not valid UTF-8", tc.name, got)
		}
	}
	if _, err := Escape(""); err == nil {
		t.Error("Escape(\"\") succeeded")
	}
}

func TestUnescapeRejectsNonCanonical(t *testing.T) {
	for _, seg := range []string{"", "%2f", "%2", "%G1", "a/b", "..", ".", "%61", "a b", "x%", "bad\xff"} {
		if name, err := Unescape(seg); err == nil {
			t.Errorf("Unescape(%q) = %q, want an error", seg, name)
		}
	}
}

func FuzzEscapeRoundTrip(f *testing.F) {
	for _, s := range []string{"a", "..", "a/b", "%", "\x00", "訂單", "\xff\xfe", " . "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		seg, err := Escape(name)
		if name == "" {
			if err == nil {
				t.Fatal("empty name escaped")
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(seg, "/\\") || strings.Trim(seg, ".") == "" {
			t.Fatalf("unsafe segment %q for %q", seg, name)
		}
		back, err := Unescape(seg)
		if err != nil || back != name {
			t.Fatalf("round trip %q -> %q -> %q, %v", name, seg, back, err)
		}
	})
}
