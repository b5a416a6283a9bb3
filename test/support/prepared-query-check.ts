// In the test suites every run of a prepared statement is also built with its real values and
// compared (db/prepared-query.ts), so a build that would answer some call wrongly fails that call's test.
import { checkPreparedStatementsEveryRun } from '../../src/db/prepared-query.js';

checkPreparedStatementsEveryRun();
