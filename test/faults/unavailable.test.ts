import { strict as assert } from 'node:assert';
import { isUnavailable } from '../../services/shared/errors';

/**
 * FerretDB's code 1 as it arrives while its PostgreSQL is down (message as logged in a kill -9 probe), in the shape
 * of the driver's MongoServerError (its name, code and message), without loading the driver into the unit layer.
 */
const ferret = (errmsg: string) =>
  Object.assign(new Error(errmsg), { name: 'MongoServerError', code: 1, codeName: 'InternalError' });

describe('isUnavailable: which store failures a caller may retry', () => {
  it('counts FerretDB losing its PostgreSQL as unavailable', () => {
    const refused =
      '[msg_insert.go:168 handler.(*Handler).MsgInsert] failed to connect to `user=feedflow database=ferretdb`:\n' +
      '\t127.0.0.1:56432 (127.0.0.1): dial error: dial tcp 127.0.0.1:56432: connect: connection refused';
    assert.equal(isUnavailable(ferret(refused)), true);
    assert.equal(isUnavailable(ferret('[conn.go:90] unexpected EOF')), true);
    assert.equal(
      isUnavailable(ferret('FATAL: terminating connection due to administrator command (SQLSTATE 57P01)')),
      true,
    );
  });

  it('leaves every other code 1 an internal error', () => {
    assert.equal(isUnavailable(ferret('[msg_aggregate.go:310] unsupported operator $foo')), false);
    assert.equal(
      isUnavailable(ferret('ERROR: invalid byte sequence for encoding "UTF8": 0x00 (SQLSTATE 22021)')),
      false,
    );
    assert.equal(isUnavailable(new Error('connection refused')), false);
  });
});
