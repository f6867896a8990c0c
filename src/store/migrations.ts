// Schema migrations, in the order they apply. Append only: a released migration is never edited, renamed or
// moved; a change is a new entry at the end. The id is what the database's ledger records (see ledger.ts).

export interface Migration {
  /** Stable forever: "NNNN-what-it-does". */
  id: string;
  sql: string;
}

export const migrations: Migration[] = [
  {
    id: '0001-initial-schema',
    sql: `
      CREATE TABLE chats (
        id              TEXT PRIMARY KEY,          -- namespaced: "local:owner", "wa:123@g.us"
        channel         TEXT NOT NULL,
        name            TEXT,
        last_message_at INTEGER
      );

      CREATE TABLE messages (
        id           INTEGER PRIMARY KEY AUTOINCREMENT, -- global arrival order; cursors point at it
        chat_id      TEXT NOT NULL REFERENCES chats(id),
        platform_id  TEXT NOT NULL,
        sender_id    TEXT NOT NULL,
        sender_name  TEXT NOT NULL,
        text         TEXT NOT NULL,
        timestamp    INTEGER NOT NULL,
        from_assistant INTEGER NOT NULL DEFAULT 0,
        UNIQUE (chat_id, platform_id)
      );
      CREATE INDEX messages_chat ON messages(chat_id, id);

      CREATE TABLE groups (
        id               INTEGER PRIMARY KEY AUTOINCREMENT,
        channel          TEXT NOT NULL,
        chat_id          TEXT NOT NULL UNIQUE REFERENCES chats(id),
        name             TEXT NOT NULL,
        folder           TEXT NOT NULL UNIQUE,
        trigger          TEXT NOT NULL,
        requires_trigger INTEGER NOT NULL DEFAULT 1,
        is_main          INTEGER NOT NULL DEFAULT 0,
        container_config TEXT NOT NULL DEFAULT '{}',
        -- id of the last message the agent has answered; everything after it is pending
        cursor           INTEGER NOT NULL DEFAULT 0,
        created_at       INTEGER NOT NULL
      );
      CREATE UNIQUE INDEX one_main_group ON groups(is_main) WHERE is_main = 1;

      CREATE TABLE sessions (
        group_id   INTEGER PRIMARY KEY REFERENCES groups(id) ON DELETE CASCADE,
        session_id TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      );

      CREATE TABLE runs (
        id          TEXT PRIMARY KEY,
        group_id    INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
        status      TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'abandoned')),
        attempt     INTEGER NOT NULL DEFAULT 1,
        -- messages claimed by this run: (from_message, to_message]
        from_message INTEGER NOT NULL,
        to_message   INTEGER NOT NULL,
        sandbox     TEXT,
        started_at  INTEGER NOT NULL,
        first_output_at INTEGER,
        ended_at    INTEGER,
        error       TEXT
      );
      CREATE INDEX runs_group ON runs(group_id, started_at);
      CREATE INDEX runs_running ON runs(status) WHERE status = 'running';

      -- what each input of a run carried, so a result ("answered input 3") maps to a message id, also after a crash
      CREATE TABLE run_inputs (
        run_id     TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        seq        INTEGER NOT NULL,
        to_message INTEGER NOT NULL,
        PRIMARY KEY (run_id, seq)
      );

      CREATE TABLE outbox (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id      TEXT NOT NULL,
        seq         INTEGER NOT NULL,
        chat_id     TEXT NOT NULL REFERENCES chats(id),
        text        TEXT NOT NULL,
        status      TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
        attempts    INTEGER NOT NULL DEFAULT 0,
        platform_message_id TEXT,
        last_error  TEXT,
        created_at  INTEGER NOT NULL,
        sent_at     INTEGER,
        UNIQUE (run_id, seq)                       -- a replayed run output can never be queued twice
      );
      CREATE INDEX outbox_pending ON outbox(status) WHERE status = 'pending';
    `,
  },
  {
    id: '0002-scheduled-tasks',
    sql: `
      CREATE TABLE tasks (
        id             TEXT PRIMARY KEY,
        group_id       INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE, -- whose chat and sandbox it runs in
        created_by     INTEGER REFERENCES groups(id) ON DELETE SET NULL,         -- main may schedule for others
        prompt         TEXT NOT NULL,
        schedule_type  TEXT NOT NULL CHECK (schedule_type IN ('cron', 'interval', 'once')),
        schedule_value TEXT NOT NULL,              -- normalized: cron expression, duration, ISO time with offset
        context_mode   TEXT NOT NULL CHECK (context_mode IN ('group', 'isolated')),
        status         TEXT NOT NULL CHECK (status IN ('active', 'paused', 'completed', 'cancelled')),
        anchor_at      INTEGER NOT NULL,           -- interval grid origin: occurrences at anchor + k·interval
        next_run       INTEGER,                    -- next occurrence to claim (epoch ms); NULL when none
        created_at     INTEGER NOT NULL,
        updated_at     INTEGER NOT NULL
      );
      CREATE INDEX tasks_due ON tasks(next_run) WHERE status = 'active' AND next_run IS NOT NULL;
      CREATE INDEX tasks_group ON tasks(group_id);

      -- One row per occurrence, claimed before it runs; the unique key makes a second claim impossible.
      CREATE TABLE task_runs (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        task_id    TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
        due_at     INTEGER NOT NULL,               -- the scheduled time (for a manual run: when it was asked for)
        trigger    TEXT NOT NULL CHECK (trigger IN ('schedule', 'manual')),
        status     TEXT NOT NULL CHECK (status IN ('claimed', 'running', 'succeeded', 'failed', 'abandoned', 'skipped')),
        run_id     TEXT,                           -- the agent run that carries it, and as which input
        input_seq  INTEGER,
        claimed_at INTEGER NOT NULL,
        started_at INTEGER,
        ended_at   INTEGER,
        error      TEXT,
        result     TEXT,                           -- excerpt of the reply; '' when it finished silently
        UNIQUE (task_id, due_at, trigger)
      );
      CREATE INDEX task_runs_open ON task_runs(status) WHERE status IN ('claimed', 'running');
      CREATE INDEX task_runs_task ON task_runs(task_id, id);
      CREATE INDEX task_runs_run ON task_runs(run_id) WHERE run_id IS NOT NULL;

      -- An isolated task run has its own fresh session, which must never replace the group's.
      ALTER TABLE runs ADD COLUMN isolated INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    id: '0003-model-usage-per-call',
    sql: `
      -- one row per model call that went through the proxy: what it cost, for which group and run
      CREATE TABLE model_usage (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        group_id      INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
        run_id        TEXT NOT NULL,
        at            INTEGER NOT NULL,
        model         TEXT,
        input_tokens  INTEGER NOT NULL DEFAULT 0,
        output_tokens INTEGER NOT NULL DEFAULT 0,
        cache_creation_input_tokens INTEGER NOT NULL DEFAULT 0,
        cache_read_input_tokens     INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX model_usage_group ON model_usage(group_id, at);
      CREATE INDEX model_usage_run ON model_usage(run_id);
    `,
  },
  {
    id: '0004-outbox-sender',
    sql: `ALTER TABLE outbox ADD COLUMN sender TEXT;`,
  },
  {
    id: '0005-chat-kinds-and-outbound-files',
    sql: `
      ALTER TABLE chats ADD COLUMN is_group INTEGER NOT NULL DEFAULT 0;
      -- a file to send: a host-private copy (never a path the agent can still change); text is its caption
      ALTER TABLE outbox ADD COLUMN file_path TEXT;
      ALTER TABLE outbox ADD COLUMN file_name TEXT;
    `,
  },
  {
    id: '0006-bot-channels',
    sql: `
      -- an @mention of the bot or a reply to it: counts as the trigger
      ALTER TABLE messages ADD COLUMN addressed INTEGER NOT NULL DEFAULT 0;
      -- a thread (Slack thread, Telegram topic, Discord thread) of a registered chat: a group of its own that
      -- works in its parent's folder
      ALTER TABLE groups ADD COLUMN parent_id INTEGER REFERENCES groups(id) ON DELETE CASCADE;
      CREATE TABLE channel_owners (
        channel   TEXT PRIMARY KEY,
        user_id   TEXT NOT NULL,
        chat_id   TEXT NOT NULL,
        name      TEXT NOT NULL,
        paired_at INTEGER NOT NULL
      );
      -- at most one live code per channel; only its hash is kept
      CREATE TABLE pairing_codes (
        channel    TEXT PRIMARY KEY,
        code_hash  TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        failures   INTEGER NOT NULL DEFAULT 0
      );
      -- who was told "this assistant is private" today, so they are told once a day at most
      CREATE TABLE stranger_refusals (
        channel TEXT NOT NULL,
        user_id TEXT NOT NULL,
        day     TEXT NOT NULL,
        PRIMARY KEY (channel, user_id, day)
      );
    `,
  },
  {
    id: '0007-sources-and-targets',
    sql: `
      -- a watched source: its messages are stored (media into its folder) but no agent runs and nothing is sent there
      ALTER TABLE groups ADD COLUMN mode TEXT NOT NULL DEFAULT 'agent' CHECK (mode IN ('agent', 'source'));
      -- where a task's reply goes; NULL: the chat of the group it runs in
      ALTER TABLE tasks ADD COLUMN deliver_to TEXT REFERENCES chats(id);
    `,
  },
  {
    id: '0008-spend',
    sql: `
      -- model_usage without the cascade: what a removed group spent still counts in today's total and the month
      CREATE TABLE model_usage_kept (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        group_id      INTEGER NOT NULL,
        run_id        TEXT NOT NULL,
        at            INTEGER NOT NULL,
        model         TEXT,
        input_tokens  INTEGER NOT NULL DEFAULT 0,
        output_tokens INTEGER NOT NULL DEFAULT 0,
        cache_creation_input_tokens INTEGER NOT NULL DEFAULT 0,
        cache_read_input_tokens     INTEGER NOT NULL DEFAULT 0
      );
      INSERT INTO model_usage_kept SELECT id, group_id, run_id, at, model, input_tokens, output_tokens,
        cache_creation_input_tokens, cache_read_input_tokens FROM model_usage;
      DROP TABLE model_usage;
      ALTER TABLE model_usage_kept RENAME TO model_usage;
      CREATE INDEX model_usage_group ON model_usage(group_id, at);
      CREATE INDEX model_usage_run ON model_usage(run_id);
      CREATE INDEX model_usage_at ON model_usage(at);
      -- the install's own daily budgets over all groups (one row)
      CREATE TABLE install_budget (
        id           INTEGER PRIMARY KEY CHECK (id = 1),
        daily_usd    REAL,
        daily_tokens INTEGER
      );
      -- "extend today by $2": extra budget for one local day; group_id NULL is the install's total
      CREATE TABLE budget_extensions (
        id       INTEGER PRIMARY KEY AUTOINCREMENT,
        group_id INTEGER REFERENCES groups(id) ON DELETE CASCADE,
        day      TEXT NOT NULL,
        usd      REAL NOT NULL DEFAULT 0,
        tokens   INTEGER NOT NULL DEFAULT 0,
        at       INTEGER NOT NULL
      );
      CREATE INDEX budget_extensions_day ON budget_extensions(day, group_id);
      -- warnings already given (80 %, 100 %) per scope and day, so each is said once
      CREATE TABLE spend_alerts (
        scope TEXT NOT NULL,
        day   TEXT NOT NULL,
        level INTEGER NOT NULL,
        PRIMARY KEY (scope, day, level)
      );
      -- every change to a group's settings, from chat or CLI (kept after the group is removed)
      CREATE TABLE group_changes (
        id       INTEGER PRIMARY KEY AUTOINCREMENT,
        at       INTEGER NOT NULL,
        group_id INTEGER NOT NULL,
        folder   TEXT NOT NULL,
        actor    TEXT NOT NULL,
        change   TEXT NOT NULL
      );
    `,
  },
  {
    id: '0012-secrets',
    sql: `
      -- the vault: each secret sealed with AES-256-GCM under a key kept in its own file, never in this database
      CREATE TABLE secrets (
        name       TEXT PRIMARY KEY,
        host       TEXT NOT NULL,   -- the only destination its placeholder is replaced for
        header     TEXT NOT NULL,   -- the only request header it is put into
        format     TEXT NOT NULL,   -- that header's value, {} standing for the secret
        env        TEXT NOT NULL,   -- the variable holding the placeholder inside sandboxes
        sealed     BLOB NOT NULL,   -- iv (12) | tag (16) | ciphertext
        created_at INTEGER NOT NULL
      );
      -- which chats may use which secret (granted from the main chat)
      CREATE TABLE secret_grants (
        group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
        secret   TEXT NOT NULL REFERENCES secrets(name) ON DELETE CASCADE,
        PRIMARY KEY (group_id, secret)
      );
    `,
  },
  {
    id: '0010-speed',
    sql: `
      -- people's messages per chat: what pending-work scans read, without stepping over the assistant's own
      CREATE INDEX messages_people ON messages(chat_id, id) WHERE from_assistant = 0;
    `,
  },
  {
    id: '0011-egress-approvals',
    sql: `
      -- the owner's answers to requests for hosts not on a group's list; the id is the number on the card
      CREATE TABLE egress_approvals (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        group_id   INTEGER NOT NULL,
        folder     TEXT NOT NULL,
        host       TEXT NOT NULL,
        port       INTEGER NOT NULL,
        method     TEXT NOT NULL,
        path       TEXT,
        reason     TEXT,
        asked_at   INTEGER NOT NULL,
        status     TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'once', 'chat', 'deny', 'expired')),
        decided_at INTEGER,
        decided_by TEXT
      );
      CREATE INDEX egress_approvals_pending ON egress_approvals(status) WHERE status = 'pending';
    `,
  },
];
