package sendense

// #include "sendense.h"
import "C"

// CopyDatabaseTo writes a consistent copy of the database file to dest (SQLite's online
// backup) while others keep writing. dest must not exist (ErrAlreadyExists); nothing is ever
// overwritten. The copy is a whole libsendense database, to be opened with Open; it has
// nothing to do with backup points (StartBackup).
func (s *Store) CopyDatabaseTo(dest string) error {
	var a cargs
	d := a.str("destination path", dest)
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_store_backup(h, d, e)
	})
}
