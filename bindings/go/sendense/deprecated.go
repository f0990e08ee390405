package sendense

import "time"

// The names in this file were renamed to the names of their area (replication, backup,
// store), so that they do not collide with the failover jobs and the job log to come, and so
// that each concept has one name. They remain, as aliases of the new names, for one release;
// then they are removed.

// JobStatus is the lifecycle state of a replication job.
//
// Deprecated: use ReplicationJobStatus.
type JobStatus = ReplicationJobStatus

// Replication job statuses under their old names.
const (
	// Deprecated: use ReplicationJobPending.
	JobPending = ReplicationJobPending
	// Deprecated: use ReplicationJobInitializing.
	JobInitializing = ReplicationJobInitializing
	// Deprecated: use ReplicationJobAnalyzing.
	JobAnalyzing = ReplicationJobAnalyzing
	// Deprecated: use ReplicationJobProvisioning.
	JobProvisioning = ReplicationJobProvisioning
	// Deprecated: use ReplicationJobAttaching.
	JobAttaching = ReplicationJobAttaching
	// Deprecated: use ReplicationJobConfiguring.
	JobConfiguring = ReplicationJobConfiguring
	// Deprecated: use ReplicationJobReadyForSync.
	JobReadyForSync = ReplicationJobReadyForSync
	// Deprecated: use ReplicationJobSnapshotting.
	JobSnapshotting = ReplicationJobSnapshotting
	// Deprecated: use ReplicationJobReplicating.
	JobReplicating = ReplicationJobReplicating
	// Deprecated: use ReplicationJobFinalizing.
	JobFinalizing = ReplicationJobFinalizing
	// Deprecated: use ReplicationJobCompleted.
	JobCompleted = ReplicationJobCompleted
	// Deprecated: use ReplicationJobFailed.
	JobFailed = ReplicationJobFailed
	// Deprecated: use ReplicationJobCancelled.
	JobCancelled = ReplicationJobCancelled
)

// RequestedType is the kind a caller asks for when starting a replication job.
//
// Deprecated: use ReplicationRequestedType.
type RequestedType = ReplicationRequestedType

// Requested replication types under their old names.
const (
	// Deprecated: use ReplicationRequestInitial.
	RequestInitial = ReplicationRequestInitial
	// Deprecated: use ReplicationRequestIncremental.
	RequestIncremental = ReplicationRequestIncremental
	// Deprecated: use ReplicationRequestAuto.
	RequestAuto = ReplicationRequestAuto
)

// StartJob is a replication job to start.
//
// Deprecated: use ReplicationStart.
type StartJob = ReplicationStart

// JobFilter selects replication jobs.
//
// Deprecated: use ReplicationJobFilter.
type JobFilter = ReplicationJobFilter

// Progress is a progress report of a running replication job.
//
// Deprecated: use ReplicationProgress.
type Progress = ReplicationProgress

// VMAProgress is what the capture appliance reported for a replication job.
//
// Deprecated: use ReplicationVMAProgress.
type VMAProgress = ReplicationVMAProgress

// BackupFilter selects backup points.
//
// Deprecated: use BackupPointFilter.
type BackupFilter = BackupPointFilter

// CopyFilter selects backup copies.
//
// Deprecated: use BackupCopyFilter.
type CopyFilter = BackupCopyFilter

// Job returns a replication job.
//
// Deprecated: use ReplicationJob.
func (s *Store) Job(jobID string) (*ReplicationJob, error) { return s.ReplicationJob(jobID) }

// ListJobs lists replication jobs.
//
// Deprecated: use ListReplicationJobs.
func (s *Store) ListJobs(filter ReplicationJobFilter) ([]ReplicationJob, error) {
	return s.ListReplicationJobs(filter)
}

// SetJobStatus moves a replication job along its status machine.
//
// Deprecated: use SetReplicationJobStatus.
func (s *Store) SetJobStatus(jobID string, status ReplicationJobStatus, errMsg string) error {
	return s.SetReplicationJobStatus(jobID, status, errMsg)
}

// Progress records the progress of an active replication job.
//
// Deprecated: use ReplicationProgress.
func (s *Store) Progress(jobID string, p ReplicationProgress) error {
	return s.ReplicationProgress(jobID, p)
}

// VMAProgress records what the capture appliance reported for an active replication job.
//
// Deprecated: use ReplicationVMAProgress.
func (s *Store) VMAProgress(jobID string, p ReplicationVMAProgress) error {
	return s.ReplicationVMAProgress(jobID, p)
}

// DiskProgress records a disk's progress within an active replication job.
//
// Deprecated: use ReplicationDiskProgress.
func (s *Store) DiskProgress(jobID, diskID string, percent float64, bytesSynced int64, syncStatus DiskSyncStatus) error {
	return s.ReplicationDiskProgress(jobID, diskID, percent, bytesSynced, syncStatus)
}

// DeleteJob deletes a finished replication job.
//
// Deprecated: use DeleteReplicationJob.
func (s *Store) DeleteJob(jobID string) error { return s.DeleteReplicationJob(jobID) }

// StaleJobs returns the stale active replication jobs.
//
// Deprecated: use StaleReplicationJobs.
func (s *Store) StaleJobs(olderThan time.Duration) ([]ReplicationJob, error) {
	return s.StaleReplicationJobs(olderThan)
}

// FailStaleJobs fails every stale replication job.
//
// Deprecated: use FailStaleReplicationJobs.
func (s *Store) FailStaleJobs(olderThan time.Duration, reason string) ([]string, error) {
	return s.FailStaleReplicationJobs(olderThan, reason)
}

// SetNBDExportJob sets or clears the replication job using an export.
//
// Deprecated: use SetNBDExportReplicationJob.
func (s *Store) SetNBDExportJob(exportName, jobID string) error {
	return s.SetNBDExportReplicationJob(exportName, jobID)
}

// NBDExportsByJob returns the exports a replication job uses.
//
// Deprecated: use NBDExportsByReplicationJob.
func (s *Store) NBDExportsByJob(jobID string) ([]NBDExport, error) {
	return s.NBDExportsByReplicationJob(jobID)
}

// ListBackups lists backup points.
//
// Deprecated: use ListBackupPoints.
func (s *Store) ListBackups(filter BackupPointFilter) ([]BackupPoint, error) {
	return s.ListBackupPoints(filter)
}

// DeleteBackup deletes a backup point.
//
// Deprecated: use DeleteBackupPoint.
func (s *Store) DeleteBackup(backupID string) error { return s.DeleteBackupPoint(backupID) }

// Copy returns a backup copy.
//
// Deprecated: use BackupCopy.
func (s *Store) Copy(copyID string) (*BackupCopy, error) { return s.BackupCopy(copyID) }

// ListCopies lists backup copies.
//
// Deprecated: use ListBackupCopies.
func (s *Store) ListCopies(filter BackupCopyFilter) ([]BackupCopy, error) {
	return s.ListBackupCopies(filter)
}

// Backup writes a consistent copy of the database file to dest. It is not a backup point.
//
// Deprecated: use CopyDatabaseTo.
func (s *Store) Backup(dest string) error { return s.CopyDatabaseTo(dest) }
