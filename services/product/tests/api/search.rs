//! Search: full-text with ranking, stemming and prefixes, and typo tolerance.

use serde_json::{Value, json};

use crate::helpers::{Admin, get_json, slugs, spawn_app};

async fn shop(app: &kit::testing::TestApp) {
    let admin = Admin::of(app);
    admin.category("mugs").await;
    admin.category("notebooks").await;
    let items = [
        (
            "blue-mug",
            "Blue mug",
            "mugs",
            "A stoneware mug in deep blue.",
        ),
        ("red-mug", "Red mug", "mugs", "A stoneware mug, glazed red."),
        (
            "blue-notebook",
            "Blue notebook",
            "notebooks",
            "Dotted pages, blue cover.",
        ),
        ("travel-cup", "Travel cup", "mugs", "Keeps coffee warm."),
    ];
    for (i, (slug, name, category, description)) in items.iter().enumerate() {
        let body = json!({
            "slug": slug, "name": name, "description": description, "category": category,
            "currency": "USD",
            "variants": [{"sku": format!("SKU-{i}"), "price": 1000 + i as i64, "stock": 3}],
        });
        admin.product(&body).await;
    }
}

fn search(q: &str) -> String {
    format!("/v1/products?q={}", q.replace(' ', "%20"))
}

#[tokio::test]
async fn finds_and_ranks_by_the_words_given() {
    let app = spawn_app().await;
    shop(&app).await;
    let found = get_json(&app, &search("blue mug")).await;
    assert_eq!(slugs(&found), ["blue-mug"], "every word must match");
    assert!(found.get("corrected_query").is_none());
    let blue = slugs(&get_json(&app, &search("blue")).await);
    assert_eq!(blue.len(), 2);
    assert!(blue.contains(&"blue-notebook".to_owned()));
    // Stemmed, and the category counts: the travel cup is filed under mugs, but ranks below the
    // products that say so in their name.
    let mugs = slugs(&get_json(&app, &search("mugs")).await);
    assert_eq!(mugs.len(), 3, "{mugs:?}");
    assert_eq!(mugs[2], "travel-cup", "{mugs:?}");
    assert_eq!(
        slugs(&get_json(&app, &search("note")).await),
        ["blue-notebook"],
        "prefix"
    );
    let filtered = get_json(&app, &format!("{}&category=notebooks", search("blue"))).await;
    assert_eq!(slugs(&filtered), ["blue-notebook"]);
}

#[tokio::test]
async fn misspellings_still_find_and_say_what_was_searched() {
    let app = spawn_app().await;
    shop(&app).await;
    let found: Value = get_json(&app, &search("mgu")).await;
    let mugs = slugs(&found);
    assert!(
        mugs.contains(&"blue-mug".to_owned()) && mugs.contains(&"red-mug".to_owned()),
        "{found}"
    );
    assert_eq!(found["corrected_query"], "mug");
    let found = get_json(&app, &search("bleu notbook")).await;
    assert_eq!(slugs(&found), ["blue-notebook"]);
    assert_eq!(found["corrected_query"], "blue notebook");
    let nothing = get_json(&app, &search("zzzzzz")).await;
    assert!(slugs(&nothing).is_empty());
}
