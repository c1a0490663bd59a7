/** Runs a process's main: a failure prints the error, stack included, and exits 1. */
export function exitOnFailure(run: Promise<void>): void {
  run.catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
