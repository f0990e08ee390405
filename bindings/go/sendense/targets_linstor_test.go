package sendense_test

import (
	"testing"

	"libsendense/bindings/go/sendense"
)

// Linstor configurations: the schema's defaults, secrets optional and sealed, delete.
func TestLinstorConfigs(t *testing.T) {
	s, _ := openKeyed(t, testKey(t))
	id := must(s.CreateLinstorConfig(sendense.NewLinstorConfig{Name: "linstor-a", APIURL: "linstor.example.test"})).get(t)
	c := must(s.LinstorConfig(id)).get(t)
	if c.APIPort != 3370 || c.APIProtocol != "http" || c.ConnectionTimeoutSeconds != 30 || c.RetryAttempts != 3 ||
		!c.IsActive || c.SealedWithKey != nil || c.Description != nil {
		t.Fatalf("defaults: %+v", c)
	}
	other := must(s.CreateLinstorConfig(sendense.NewLinstorConfig{Name: "linstor-b", APIURL: "linstor2.example.test",
		APIPort: 3371, APIProtocol: "https", APIKey: "k", ConnectionTimeoutSeconds: 5, RetryAttempts: sendense.Int64(0),
		Description: "second", IsActive: sendense.Bool(false)})).get(t)
	c = must(s.LinstorConfig(other)).get(t)
	if c.APIPort != 3371 || c.APIProtocol != "https" || c.ConnectionTimeoutSeconds != 5 || c.RetryAttempts != 0 ||
		c.IsActive || str(c.Description) != "second" || str(c.SealedWithKey) != must(s.SecretKeyID()).get(t) {
		t.Fatalf("settings: %+v", c)
	}
	if sec := must(s.LinstorConfigSecrets(other)).get(t); sec.APIKey != "k" || sec.APISecret != "" {
		t.Fatal("the Linstor key does not open to what was written")
	}
	if list := must(s.ListLinstorConfigs()).get(t); len(list) != 2 || list[0].ID != id || list[1].ID != other {
		t.Fatalf("list: %+v", list)
	}
	_, err := s.CreateLinstorConfig(sendense.NewLinstorConfig{Name: "linstor-a", APIURL: "x"})
	wantErr(t, "a taken name", err, sendense.ErrAlreadyExists)
	_, err = s.CreateLinstorConfig(sendense.NewLinstorConfig{Name: "linstor-c", APIURL: "x", APIProtocol: "ftp"})
	wantErr(t, "an ftp protocol", err, sendense.ErrInvalidArgument)
	_, err = s.CreateLinstorConfig(sendense.NewLinstorConfig{Name: "linstor-c", APIURL: "x", APIPort: 70000})
	wantErr(t, "a port out of range", err, sendense.ErrInvalidArgument)
	ok(t, s.DeleteLinstorConfig(id))
	_, err = s.LinstorConfig(id)
	wantErr(t, "the deleted configuration", err, sendense.ErrNotFound)
	wantErr(t, "delete it again", s.DeleteLinstorConfig(id), sendense.ErrNotFound)
}
