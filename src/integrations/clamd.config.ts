// The clamd.conf our supervised clamd runs with: every setting, and why, in one place. Pure: the
// supervisor decides the paths and limits and writes the file.

export interface ClamdConfigSettings {
  socketPath: string;
  databaseDir: string;
  temporaryDir: string;
  logFile: string;
  pidFile: string;
  maxStreamBytes: number;
  maxScanBytes: number;
  maxThreads: number;
  maxScanTimeMs: number;
  concurrentDatabaseReload: boolean;
}

/** The clamd.conf we write. Each choice is explained here because clamd.conf itself is generated. */
export function renderClamdConfig(s: ClamdConfigSettings): string {
  const lines: Array<[string, string | number, string?]> = [
    ['Foreground', 'yes', 'we supervise it; no forking, no system service'],
    ['LocalSocket', s.socketPath],
    ['LocalSocketMode', '600', 'only our user (and root) may talk to it'],
    ['FixStaleSocket', 'yes'],
    ['DatabaseDirectory', s.databaseDir],
    ['OfficialDatabaseOnly', 'no', 'our own strongroom.ndb must load'],
    ['TemporaryDirectory', s.temporaryDir, 'INSTREAM spools plaintext here: tmpfs, mode 0700'],
    ['LeaveTemporaryFiles', 'no'],
    ['LogFile', s.logFile],
    ['LogTime', 'yes'],
    ['LogFileMaxSize', '10M'],
    ['LogRotate', 'yes'],
    ['LogClean', 'no', 'file names are not logged (INSTREAM has none); verdicts are audited by us'],
    ['PidFile', s.pidFile],
    ['StreamMaxLength', s.maxStreamBytes],
    // clamd silently scans only the first MaxFileSize bytes of a file inside an archive (no alert,
    // even with AlertExceedsMax). With MaxFileSize = MaxScanSize, such a file also overflows
    // MaxScanSize (the archive itself counts too), which does raise Heuristics.Limits.Exceeded.
    ['MaxFileSize', s.maxScanBytes, 'equal to MaxScanSize so nothing is ever scanned only in part'],
    ['MaxScanSize', s.maxScanBytes],
    ['MaxScanTime', s.maxScanTimeMs],
    ['MaxRecursion', 17],
    ['MaxFiles', 10000],
    ['AlertExceedsMax', 'yes', 'over a limit = "Heuristics.Limits.Exceeded", which we treat as no verdict; otherwise clamd says OK'],
    ['ScanArchive', 'yes'],
    ['ScanOLE2', 'yes'],
    ['ScanPDF', 'yes'],
    ['ScanHTML', 'yes'],
    ['ScanMail', 'yes'],
    ['ScanPE', 'yes'],
    ['ScanELF', 'yes'],
    ['AlertOLE2Macros', 'no', 'macros are the file policy\'s call (per organisation), not malware'],
    // The file policy refuses (or holds) the password-protected archives it can see; clamd also meets
    // them where the policy cannot look (a protected zip inside a gzip or tar, a 7z whose header does not
    // name its cipher). There it says "Heuristics.Encrypted.*", which the scanner reports as no verdict and
    // the policy then decides on as it does on what it saw itself. Encrypted PDFs are still clamd's to read.
    ['AlertEncryptedArchive', 'yes', 'a password-protected archive anywhere = "Heuristics.Encrypted.*": no verdict, decided by the file policy'],
    ['AlertEncryptedDoc', 'no'],
    ['DetectPUA', 'no'],
    ['MaxThreads', s.maxThreads],
    ['MaxQueue', Math.max(20, s.maxThreads * 4)],
    ['CommandReadTimeout', 5, 'a Unix socket client sends its command at once'],
    ['ReadTimeout', 300, 'uploads feed INSTREAM at the uploader\'s pace'],
    ['IdleTimeout', 10, 'idle threads exit sooner, so a non-concurrent reload waits less'],
    ['SelfCheck', 600, 'picks up database changes written by freshclam or reloadDatabases()'],
    [
      'ConcurrentDatabaseReload',
      s.concurrentDatabaseReload ? 'yes' : 'no',
      s.concurrentDatabaseReload
        ? 'scans carry on during a reload, at the cost of a second engine in memory meanwhile'
        : 'no second engine in memory; scans wait for idle threads to exit (IdleTimeout) and for the load',
    ],
    ['ExitOnOOM', 'yes', 'better restarted by us than half-working'],
  ];
  const header = '# Written by Strongroom (ClamdSupervisor) at every start; edits here are lost.\n';
  return header + lines.map(([key, value, why]) => (why ? `# ${why}\n` : '') + `${key} ${value}`).join('\n') + '\n';
}
