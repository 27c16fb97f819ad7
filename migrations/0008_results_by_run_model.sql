-- The model filter of /history and the trend page list a run once per model: a row counts only
-- when no earlier row of its run names the same model. With the model in the first index that
-- check is one probe of an index (with query_results_by_query it read every earlier row of the
-- run), and with the position in the second a model's listing of runs reads no row of
-- query_results at all.
CREATE INDEX query_results_by_query_model ON query_results(query_id, model, position);
DROP INDEX query_results_by_user_model_time;
CREATE INDEX query_results_by_user_model_time
    ON query_results(user_id, model, started_at DESC, query_id DESC, position);
