-- History at a heavy user's size (issue 11): every history page reads about as many rows as it
-- shows. A model's rows carry their run's user and start time, so one user's rows of one model
-- are an index range in the list's order (the model filter of /history, the trend page), instead
-- of every row of that model, of every user, gathered and then matched against the user's runs.
-- Both columns are copies that never change: a run's user and start time are fixed when it is
-- stored (db::runs::insert_run writes them with the row).

ALTER TABLE query_results ADD COLUMN user_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE query_results ADD COLUMN started_at INTEGER NOT NULL DEFAULT 0;

UPDATE query_results SET (user_id, started_at) =
    (SELECT q.user_id, q.started_at FROM queries q WHERE q.id = query_results.query_id);

CREATE INDEX query_results_by_user_model_time
    ON query_results(user_id, model, started_at DESC, query_id DESC);
-- Served by the index above (model lookups are always for one user).
DROP INDEX query_results_by_model;
