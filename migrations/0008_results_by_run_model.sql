-- The model filter of /history and the trend page list a run once per model: a row counts only
-- when no earlier row of its run names the same model. With the model in this index that check
-- is one probe of the index; with query_results_by_query it read every earlier row of the run.
CREATE INDEX query_results_by_query_model ON query_results(query_id, model, position);
