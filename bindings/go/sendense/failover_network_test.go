package sendense_test

import (
	"testing"

	"libsendense/bindings/go/sendense"
)

// Network mappings: both kinds in one set, an update in place, validation, delete, refusals.
func TestNetworkMappings(t *testing.T) {
	s, _ := openTemp(t)
	ctx := must(s.CreateContext(newVM("net-01", "vm-net-01"))).get(t)
	m := sendense.NewNetworkMapping{VMContextID: ctx, SourceNetworkName: "VM Network", DestinationNetworkID: "net-1",
		DestinationNetworkName: "prod", MappingType: sendense.MappingBoth, NetworkStrategy: "l2"}
	ok(t, s.SetNetworkMapping(m))
	m.MappingType, m.DestinationNetworkID, m.DestinationNetworkName = sendense.MappingTest, "net-iso", "isolated"
	ok(t, s.SetNetworkMapping(m))
	ok(t, s.ValidateNetworkMapping(ctx, "VM Network", sendense.MappingLive, true))
	ok(t, s.ValidateNetworkMapping(ctx, "VM Network", sendense.MappingTest, false))
	list := must(s.NetworkMappings(ctx)).get(t)
	if len(list) != 2 || list[0].MappingType != sendense.MappingLive || list[1].MappingType != sendense.MappingTest {
		t.Fatalf("list: %+v", list)
	}
	live, test := list[0], list[1]
	if live.VMID != "vm-net-01" || live.IsTestNetwork || live.ValidationStatus != "valid" || live.LastValidated == nil ||
		str(live.NetworkStrategy) != "l2" || live.DestinationNetworkID != "net-1" {
		t.Fatalf("live: %+v", live)
	}
	if !test.IsTestNetwork || test.ValidationStatus != "invalid" || test.DestinationNetworkName != "isolated" {
		t.Fatalf("test: %+v", test)
	}
	m.MappingType = "all"
	e := wantErr(t, "a kind outside live/test/both", s.SetNetworkMapping(m), sendense.ErrInvalidArgument)
	wantMessage(t, "the kind", e, `"all"`, "live, test, both")
	m.MappingType, m.SourceNetworkName = sendense.MappingLive, " "
	wantErr(t, "a blank network name", s.SetNetworkMapping(m), sendense.ErrInvalidArgument)
	m.VMContextID, m.SourceNetworkName = "no-such-context", "A"
	wantErr(t, "an unknown context", s.SetNetworkMapping(m), sendense.ErrNotFound)
	wantErr(t, "validate a missing mapping", s.ValidateNetworkMapping(ctx, "Other", sendense.MappingLive, true),
		sendense.ErrNotFound)
	_, err := s.NetworkMappings("no-such-context")
	wantErr(t, "list of an unknown context", err, sendense.ErrNotFound)
	ok(t, s.DeleteNetworkMapping(ctx, "VM Network", sendense.MappingBoth))
	wantErr(t, "delete again", s.DeleteNetworkMapping(ctx, "VM Network", sendense.MappingLive), sendense.ErrNotFound)
	if list := must(s.NetworkMappings(ctx)).get(t); len(list) != 0 {
		t.Fatalf("after delete: %+v", list)
	}
}
