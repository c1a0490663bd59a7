import pino from 'pino';

export type Logger = pino.Logger;

/** Structured JSON logs. Child loggers carry workflow, post and viewer ids where they apply. */
export function createLogger(name: string, level: string): Logger {
  return pino({ name, level, base: { process: name } });
}
