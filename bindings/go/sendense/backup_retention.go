package sendense

// #include "sendense.h"
import "C"

import "time"

// RetentionRules are the retention rules of a policy as a plan applied them; nil (or 0)
// means the rule is not used. With no rule at all every point is kept ("no retention rule").
type RetentionRules struct {
	KeepLast      *uint32 `json:"keep_last"`
	KeepDaily     *uint32 `json:"keep_daily"`
	KeepWeekly    *uint32 `json:"keep_weekly"`
	KeepMonthly   *uint32 `json:"keep_monthly"`
	KeepYearly    *uint32 `json:"keep_yearly"`
	RetentionDays *uint32 `json:"retention_days"`
}

// KeptPoint is a point a retention plan keeps, with every reason for keeping it, e.g.
// "keep-last 1", "keep-daily 2026-11-28", "keep-weekly 2026-W48", "keep-monthly 2026-11",
// "keep-yearly 2026", "retention-days", "protected", "immutable until <time>",
// "min-retention until <time>", "needed by <id> (outside the plan)", "ancestor of <id>" or
// "no retention rule".
type KeptPoint struct {
	ID      string   `json:"id"`
	Reasons []string `json:"reasons"`
}

// RetentionPlan says which completed points of a policy its retention rules keep (and why)
// and which they remove. Count rules apply per chain (context, disk, repository); a kept
// point keeps every point it builds on, so chains are never broken. Making a plan changes
// nothing; ApplyRetention carries it out.
type RetentionPlan struct {
	PolicyID    string         `json:"policy_id"`
	Now         time.Time      `json:"now"`       // the clock the plan was made with
	TimeZone    string         `json:"time_zone"` // where days, weeks, months and years were counted
	Rules       RetentionRules `json:"rules"`
	Fingerprint string         `json:"fingerprint"` // a digest of the points covered; apply refuses a plan that no longer matches
	Points      int            `json:"points"`      // how many points the plan covers
	Kept        int            `json:"kept"`
	Removed     int            `json:"removed"`
	Keep        []KeptPoint    `json:"keep"`
	Remove      []string       `json:"remove"`
	Problems    []string       `json:"problems"` // broken links among the points; they never cause a removal
}

// Reasons returns why the plan keeps the point id, and false when it removes it or does not
// cover it.
func (p *RetentionPlan) Reasons(id string) ([]string, bool) {
	for _, k := range p.Keep {
		if k.ID == id {
			return k.Reasons, true
		}
	}
	return nil, false
}

// PlanRetention plans retention for the completed points of a policy with its rules at now,
// counting days, ISO weeks, months and years in the IANA time zone timeZone ("UTC",
// "Europe/Berlin"). It changes nothing. ErrNotFound for an unknown policy; ErrInvalidArgument
// for an unknown time zone.
func (s *Store) PlanRetention(policyID string, now time.Time, timeZone string) (*RetentionPlan, error) {
	var a cargs
	policy, zone := a.str("policy id", policyID), a.str("time zone", timeZone)
	return getRecord[RetentionPlan](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_retention_plan_json(h, policy, C.int64_t(now.UnixMilli()), zone, out, e)
	})
}

// ApplyRetention removes the points plan removes, atomically. The library plans again inside
// its transaction: a stale plan (the policy's rules or points changed since, or a point
// outside the policy now builds on a planned removal) is ErrConflict saying why, and a point
// that may not be deleted now (inside a lock window or its repository's minimum retention)
// fails the whole apply with that refusal. On any error nothing changes.
func (s *Store) ApplyRetention(plan *RetentionPlan) error {
	if plan == nil {
		return invalidArgument("the retention plan is nil")
	}
	var a cargs
	doc := a.doc("retention plan", plan)
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_retention_apply(h, doc, e)
	})
}
