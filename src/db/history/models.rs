//! The model filter of `/history` takes a part of an id ("flag", "QWEN3"): the user's stored
//! model ids that contain it, whatever the case, become the filter's list of ids.

use rusqlite::{Connection, OptionalExtension, params};

use crate::db::DbError;
use crate::ids::UserId;

/// The most model ids one part may stand for: each is a range of the model index the listing
/// reads (`tests/it/query_plans.rs` counts the cost a range).
pub const MAX_MODEL_MATCHES: usize = 64;

/// The user's stored model ids that contain `part`, ASCII case ignored, in id order: at most
/// [`MAX_MODEL_MATCHES`] + 1 (one more says there are too many). Hops from one distinct id to
/// the next through the user's part of the model index, so it reads one entry an id the user
/// ever ran, not one a stored row.
pub fn models_matching(
    conn: &Connection,
    user_id: UserId,
    part: &str,
) -> Result<Vec<String>, DbError> {
    let part = part.to_ascii_lowercase();
    let mut statement = conn.prepare_cached(
        "SELECT model FROM query_results INDEXED BY query_results_by_user_model_time
         WHERE user_id = ?1 AND model > ?2 ORDER BY model LIMIT 1",
    )?;
    let mut found = Vec::new();
    // Every id is greater than the empty text but the empty id itself, which contains nothing.
    let mut after = String::new();
    while let Some(model) = statement
        .query_row(params![user_id, after], |row| row.get::<_, String>(0))
        .optional()?
    {
        if model.to_ascii_lowercase().contains(&part) {
            found.push(model.clone());
            if found.len() > MAX_MODEL_MATCHES {
                break;
            }
        }
        after = model;
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::runs::{NewRun, insert_run};
    use crate::db::{Db, users};
    use crate::modelscope::ModelResult;

    fn row(model: &str) -> ModelResult {
        crate::db::test_support::answered(model)
    }

    #[test]
    fn a_part_of_an_id_finds_the_ids_that_contain_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("app.db")).unwrap();
        let mut conn = db.connection().unwrap();
        let alice = users::create(&conn, "alice", "x").unwrap().unwrap();
        let bob = users::create(&conn, "bob", "x").unwrap().unwrap();
        for (user, models) in [
            (
                alice,
                vec!["FlagAlpha/Llama3-Chinese", "Qwen/Qwen3-32B", "Qwen/QwQ-32B"],
            ),
            (alice, vec!["Qwen/Qwen3-32B", "ZhipuAI/GLM-4.7"]),
            (bob, vec!["bob/flagship"]),
        ] {
            let results: Vec<ModelResult> = models.into_iter().map(row).collect();
            insert_run(
                &mut conn,
                &NewRun {
                    user_id: user,
                    started_at: 1_700_000_000,
                    results: &results,
                    ..NewRun::default()
                },
            )
            .unwrap();
        }
        let find = |part: &str| models_matching(&conn, alice, part).unwrap();
        assert_eq!(find("flag"), ["FlagAlpha/Llama3-Chinese"]);
        assert_eq!(find("QWEN3"), ["Qwen/Qwen3-32B"]);
        // In the ids' byte order (capitals first).
        assert_eq!(find("32b"), ["Qwen/QwQ-32B", "Qwen/Qwen3-32B"]);
        assert_eq!(
            find("/"),
            [
                "FlagAlpha/Llama3-Chinese",
                "Qwen/QwQ-32B",
                "Qwen/Qwen3-32B",
                "ZhipuAI/GLM-4.7"
            ]
        );
        assert!(find("nothing").is_empty());
        assert_eq!(
            models_matching(&conn, bob, "FLAG").unwrap(),
            ["bob/flagship"]
        );
    }
}
