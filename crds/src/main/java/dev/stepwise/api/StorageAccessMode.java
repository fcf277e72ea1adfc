package dev.stepwise.api;

/** Access modes a run directory volume may be requested with. */
public enum StorageAccessMode {
  ReadWriteOnce,
  ReadWriteMany,
  ReadWriteOncePod
}
