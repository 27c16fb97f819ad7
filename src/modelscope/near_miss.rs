//! "Did you mean …?": the known model id a typed one most likely meant. A near miss is the
//! same id in another case (`zhipuai/glm-4.7`), a name without its owner (`GLM-4.7`), or a
//! typo of one or two characters (`ZhipuAI/GLM-4.77`), or the name under another owner. Pure: the caller says which ids are
//! known (the catalogue, the user's own history and presets).

/// The known id `typed` most likely meant, or `None` when it is known as typed or nothing is
/// close enough. Among equally close ids the first in `known` wins, so callers list the ids
/// they trust most (the user's own) first.
pub fn near_miss<'a>(typed: &str, known: &'a [String]) -> Option<&'a str> {
    let typed = typed.trim();
    if typed.is_empty() || known.iter().any(|id| id == typed) {
        return None;
    }
    let lower = typed.to_lowercase();
    if let Some(same) = known.iter().find(|id| id.to_lowercase() == lower) {
        return Some(same);
    }
    let (target, compare): (&str, fn(&str) -> &str) = if typed.contains('/') {
        (&lower, |id| id)
    } else {
        // No owner: compare with the name part of each known id.
        (&lower, |id| id.rsplit('/').next().unwrap_or(id))
    };
    let limit = typo_limit(target.chars().count());
    let mut best: Option<(usize, &'a str)> = None;
    for id in known {
        let candidate = compare(id).to_lowercase();
        let bound = best.map_or(limit, |(distance, _)| distance.saturating_sub(1));
        if let Some(distance) = distance_within(target, &candidate, bound) {
            best = Some((distance, id));
            if distance == 0 {
                break;
            }
        }
    }
    if let Some((_, id)) = best {
        return Some(id);
    }
    // Another owner, the same name (`THUDM/GLM-4.7` for `ZhipuAI/GLM-4.7`).
    let name = lower.rsplit('/').next().unwrap_or(&lower);
    known
        .iter()
        .find(|id| {
            id.rsplit('/')
                .next()
                .is_some_and(|n| n.to_lowercase() == name)
        })
        .map(String::as_str)
}

/// How many single-character edits still count as a typo: none for very short text (too
/// many ids would be close), one up to ten characters, two beyond.
fn typo_limit(chars: usize) -> usize {
    match chars {
        0..=3 => 0,
        4..=10 => 1,
        _ => 2,
    }
}

/// The Levenshtein distance of `a` and `b` if it is at most `limit`, else `None`. Stops as
/// soon as no alignment can stay within the limit, so most ids cost a row or two.
fn distance_within(a: &str, b: &str, limit: usize) -> Option<usize> {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > limit {
        return None;
    }
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        current[0] = i + 1;
        let mut row_best = current[0];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
            row_best = row_best.min(current[j + 1]);
        }
        if row_best > limit {
            return None;
        }
        std::mem::swap(&mut previous, &mut current);
    }
    let distance = previous[b.len()];
    (distance <= limit).then_some(distance)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Vec<String> {
        [
            "Qwen/Qwen2.5-72B-Instruct",
            "Qwen/Qwen2.5-7B-Instruct",
            "ZhipuAI/GLM-4.7",
            "deepseek-ai/DeepSeek-V3.1",
        ]
        .map(String::from)
        .to_vec()
    }

    #[test]
    fn a_known_id_is_no_miss() {
        assert_eq!(near_miss("ZhipuAI/GLM-4.7", &known()), None);
        assert_eq!(near_miss("Qwen/Qwen2.5-7B-Instruct", &known()), None);
    }

    #[test]
    fn wrong_case_missing_owner_and_typos_are_near() {
        let known = known();
        for typed in [
            "zhipuai/glm-4.7",
            "glm-4.7",
            "GLM-4.7",
            "ZhipuAI/GLM-4.77",
            "Zhipu/GLM-4.7",
            "ZhipuAI/GLM4.7",
            "THUDM/GLM-4.7",
        ] {
            assert_eq!(near_miss(typed, &known), Some("ZhipuAI/GLM-4.7"), "{typed}");
        }
        assert_eq!(
            near_miss("deepseek-ai/deepseek-v3.l", &known),
            Some("deepseek-ai/DeepSeek-V3.1")
        );
        assert_eq!(
            near_miss("Qwen2.5-72B-Instruct", &known),
            Some("Qwen/Qwen2.5-72B-Instruct")
        );
    }

    #[test]
    fn far_or_short_ids_are_left_alone() {
        let known = known();
        for typed in [
            "a/b",
            "glm",
            "Qwen/Qwen3-235B-A22B",
            "openai/gpt-4o",
            "",
            "  ",
        ] {
            assert_eq!(near_miss(typed, &known), None, "{typed}");
        }
        assert_eq!(near_miss("ZhipuAI/GLM-4.7", &[]), None);
    }

    #[test]
    fn the_closest_wins_and_ties_go_to_the_first_listed() {
        let known = ["o/model-ab".to_owned(), "o/model-ac".to_owned()];
        assert_eq!(near_miss("o/model-a", &known), Some("o/model-ab"));
        assert_eq!(near_miss("o/model-acx", &known), Some("o/model-ac"));
    }

    #[test]
    fn the_bounded_distance_agrees_with_the_plain_one() {
        assert_eq!(distance_within("kitten", "sitting", 3), Some(3));
        assert_eq!(distance_within("kitten", "sitting", 2), None);
        assert_eq!(distance_within("", "ab", 2), Some(2));
        assert_eq!(distance_within("abc", "abc", 0), Some(0));
        assert_eq!(distance_within("abcdef", "ab", 2), None);
    }
}
