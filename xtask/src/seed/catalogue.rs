//! The demo catalogue: seven categories and 42 products with variants, varied prices and stock
//! (some sold out), and pictures drawn as SVG here, so the shop has something to sell the first
//! time `cargo xtask up` starts. Everything is data: change it freely.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// A category of the demo shop.
pub struct CategorySpec {
    pub slug: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    /// How its products are drawn.
    pub shape: Shape,
}

/// A product of the demo shop: one variant per colour × size (or one variant).
pub struct ProductSpec {
    pub slug: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub category: &'static str,
    pub featured: bool,
    /// Price in cents of the smallest size; each larger size costs `step` more.
    pub price: i64,
    pub step: i64,
    pub colours: &'static [(&'static str, &'static str)],
    pub sizes: &'static [&'static str],
    /// Stock of each variant, cycled; 0 is sold out.
    pub stock: &'static [i64],
    pub attributes: &'static [(&'static str, &'static str)],
}

/// What a category's pictures look like.
#[derive(Clone, Copy)]
pub enum Shape {
    Mug,
    Shirt,
    Poster,
    Notebook,
    Socks,
    Cap,
    Bag,
}

pub const CATEGORIES: &[CategorySpec] = &[
    CategorySpec {
        slug: "mugs",
        name: "Mugs",
        description: "Stoneware and enamel mugs for coffee, tea and everything in between.",
        shape: Shape::Mug,
    },
    CategorySpec {
        slug: "t-shirts",
        name: "T-shirts",
        description: "Organic cotton tees, cut for everyday wear.",
        shape: Shape::Shirt,
    },
    CategorySpec {
        slug: "posters",
        name: "Posters",
        description: "Prints on heavy matte paper, ready to frame.",
        shape: Shape::Poster,
    },
    CategorySpec {
        slug: "notebooks",
        name: "Notebooks",
        description: "Dotted, lined and plain notebooks that lie flat.",
        shape: Shape::Notebook,
    },
    CategorySpec {
        slug: "socks",
        name: "Socks",
        description: "Warm, bright and made to last.",
        shape: Shape::Socks,
    },
    CategorySpec {
        slug: "caps",
        name: "Caps",
        description: "Six-panel caps with an adjustable strap.",
        shape: Shape::Cap,
    },
    CategorySpec {
        slug: "bags",
        name: "Bags",
        description: "Totes and backpacks for the daily carry.",
        shape: Shape::Bag,
    },
];

const BLUE: (&str, &str) = ("Blue", "#2f6fdb");
const RED: (&str, &str) = ("Red", "#d64545");
const GREEN: (&str, &str) = ("Green", "#3a9a5b");
const BLACK: (&str, &str) = ("Black", "#2b2b2b");
const WHITE: (&str, &str) = ("White", "#f4f1ea");
const YELLOW: (&str, &str) = ("Yellow", "#f2c230");
const ORANGE: (&str, &str) = ("Orange", "#f08a24");
const PURPLE: (&str, &str) = ("Purple", "#7d4cc2");
const GREY: (&str, &str) = ("Grey", "#8a8f98");
const NAVY: (&str, &str) = ("Navy", "#1f2f5c");
const PINK: (&str, &str) = ("Pink", "#e58fb0");
const TEAL: (&str, &str) = ("Teal", "#23959a");

const ONE: &[&str] = &[];
const MUG_SIZES: &[&str] = &["250 ml", "350 ml"];
const SHIRT_SIZES: &[&str] = &["S", "M", "L", "XL"];
const POSTER_SIZES: &[&str] = &["A3", "A2"];
const SOCK_SIZES: &[&str] = &["36-40", "41-46"];

macro_rules! product {
    ($slug:literal, $name:literal, $category:literal, $price:literal, $step:literal, $colours:expr, $sizes:expr, $stock:expr, $featured:literal, $description:literal, $attributes:expr) => {
        ProductSpec {
            slug: $slug,
            name: $name,
            description: $description,
            category: $category,
            featured: $featured,
            price: $price,
            step: $step,
            colours: $colours,
            sizes: $sizes,
            stock: $stock,
            attributes: $attributes,
        }
    };
}

pub const PRODUCTS: &[ProductSpec] = &[
    // Mugs
    product!(
        "blue-mug",
        "Blue mug",
        "mugs",
        1250,
        200,
        &[BLUE],
        MUG_SIZES,
        &[12, 3],
        true,
        "A stoneware mug glazed deep blue. Dishwasher safe.",
        &[("Material", "Stoneware")]
    ),
    product!(
        "red-mug",
        "Red mug",
        "mugs",
        1250,
        200,
        &[RED],
        MUG_SIZES,
        &[8, 0],
        false,
        "A stoneware mug glazed bright red. Dishwasher safe.",
        &[("Material", "Stoneware")]
    ),
    product!(
        "enamel-camp-mug",
        "Enamel camp mug",
        "mugs",
        1490,
        0,
        &[WHITE, GREEN, NAVY],
        ONE,
        &[20, 4, 0],
        true,
        "Light, tough and ready for the campfire.",
        &[("Material", "Enamelled steel")]
    ),
    product!(
        "travel-mug",
        "Insulated travel mug",
        "mugs",
        2490,
        0,
        &[BLACK, TEAL],
        ONE,
        &[15, 9],
        false,
        "Keeps coffee hot for four hours, leak-proof lid.",
        &[("Capacity", "400 ml")]
    ),
    product!(
        "espresso-cups",
        "Espresso cups, set of two",
        "mugs",
        1890,
        0,
        &[WHITE],
        ONE,
        &[0],
        false,
        "Thick-walled cups that keep a shot warm.",
        &[("Capacity", "90 ml")]
    ),
    product!(
        "speckled-mug",
        "Speckled mug",
        "mugs",
        1650,
        0,
        &[GREY, PINK],
        ONE,
        &[6, 2],
        false,
        "Hand-glazed; every speckle is its own.",
        &[("Material", "Stoneware")]
    ),
    // T-shirts
    product!(
        "classic-tee",
        "Classic tee",
        "t-shirts",
        1900,
        0,
        &[WHITE, BLACK, NAVY],
        SHIRT_SIZES,
        &[10, 25, 3, 0, 7],
        true,
        "Our everyday crew neck in heavyweight organic cotton.",
        &[("Material", "Organic cotton")]
    ),
    product!(
        "pocket-tee",
        "Pocket tee",
        "t-shirts",
        2200,
        0,
        &[GREY, GREEN],
        SHIRT_SIZES,
        &[5, 0, 12, 8],
        false,
        "A classic with a chest pocket.",
        &[("Material", "Organic cotton")]
    ),
    product!(
        "mountain-tee",
        "Mountain print tee",
        "t-shirts",
        2600,
        0,
        &[NAVY],
        SHIRT_SIZES,
        &[4, 9, 9, 2],
        true,
        "Screen-printed mountains on soft cotton.",
        &[("Print", "Water-based ink")]
    ),
    product!(
        "striped-tee",
        "Striped tee",
        "t-shirts",
        2400,
        0,
        &[BLUE, RED],
        SHIRT_SIZES,
        &[0, 0, 0, 0],
        false,
        "Breton stripes, sold out until the next batch.",
        &[("Material", "Cotton")]
    ),
    product!(
        "long-sleeve-tee",
        "Long-sleeve tee",
        "t-shirts",
        2900,
        0,
        &[BLACK, WHITE],
        SHIRT_SIZES,
        &[6, 6, 6, 1],
        false,
        "For cooler days.",
        &[("Material", "Organic cotton")]
    ),
    product!(
        "kids-tee",
        "Kids tee",
        "t-shirts",
        1400,
        0,
        &[YELLOW, ORANGE, TEAL],
        &["4Y", "6Y", "8Y"],
        &[10, 3, 0],
        false,
        "Small sizes, big colours.",
        &[("Material", "Organic cotton")]
    ),
    // Posters
    product!(
        "city-poster",
        "City at night poster",
        "posters",
        2900,
        1500,
        &[NAVY],
        POSTER_SIZES,
        &[10, 4],
        true,
        "A skyline in blues and golds.",
        &[("Paper", "200 g/m², matte")]
    ),
    product!(
        "botanical-poster",
        "Botanical poster",
        "posters",
        2500,
        1500,
        &[GREEN],
        POSTER_SIZES,
        &[7, 0],
        false,
        "Ferns and leaves, drawn by hand.",
        &[("Paper", "200 g/m², matte")]
    ),
    product!(
        "abstract-poster",
        "Abstract shapes poster",
        "posters",
        2200,
        1500,
        &[ORANGE, PURPLE],
        POSTER_SIZES,
        &[3, 5, 8, 1],
        false,
        "Bold shapes for a bare wall.",
        &[("Paper", "200 g/m², matte")]
    ),
    product!(
        "map-poster",
        "Old map poster",
        "posters",
        3400,
        1500,
        &[YELLOW],
        POSTER_SIZES,
        &[2, 2],
        false,
        "A reprint of a nineteenth-century sea chart.",
        &[("Paper", "200 g/m², matte")]
    ),
    product!(
        "wave-poster",
        "Great wave poster",
        "posters",
        2700,
        1500,
        &[BLUE],
        POSTER_SIZES,
        &[0, 0],
        false,
        "Sold out; back soon.",
        &[("Paper", "200 g/m², matte")]
    ),
    product!(
        "space-poster",
        "Solar system poster",
        "posters",
        2400,
        1500,
        &[BLACK],
        POSTER_SIZES,
        &[11, 6],
        true,
        "Every planet, to scale (almost).",
        &[("Paper", "200 g/m², matte")]
    ),
    // Notebooks
    product!(
        "dotted-notebook",
        "Dotted notebook",
        "notebooks",
        1600,
        0,
        &[BLACK, RED, BLUE],
        ONE,
        &[30, 12, 0],
        true,
        "A5, 192 dotted pages, lies flat.",
        &[("Pages", "192")]
    ),
    product!(
        "lined-notebook",
        "Lined notebook",
        "notebooks",
        1500,
        0,
        &[NAVY, GREEN],
        ONE,
        &[22, 9],
        false,
        "A5, 192 lined pages.",
        &[("Pages", "192")]
    ),
    product!(
        "pocket-notebooks",
        "Pocket notebooks, set of three",
        "notebooks",
        1200,
        0,
        &[YELLOW],
        ONE,
        &[40],
        false,
        "Small enough for any pocket.",
        &[("Pages", "3 × 48")]
    ),
    product!(
        "sketchbook",
        "Sketchbook",
        "notebooks",
        2100,
        0,
        &[GREY],
        ONE,
        &[4],
        false,
        "Thick paper for pencil and ink.",
        &[("Paper", "150 g/m²")]
    ),
    product!(
        "planner",
        "Weekly planner",
        "notebooks",
        2400,
        0,
        &[PINK, TEAL],
        ONE,
        &[0, 5],
        false,
        "Undated weeks, start any time.",
        &[("Pages", "160")]
    ),
    product!(
        "grid-notebook",
        "Grid notebook",
        "notebooks",
        1550,
        0,
        &[WHITE],
        ONE,
        &[3],
        false,
        "For plans, plots and lists.",
        &[("Pages", "192")]
    ),
    // Socks
    product!(
        "wool-socks",
        "Wool socks",
        "socks",
        1400,
        0,
        &[GREY, RED],
        SOCK_SIZES,
        &[14, 7, 3, 0],
        true,
        "Merino blend, warm without the itch.",
        &[("Material", "Merino wool blend")]
    ),
    product!(
        "striped-socks",
        "Striped socks",
        "socks",
        1100,
        0,
        &[BLUE, YELLOW],
        SOCK_SIZES,
        &[20, 20, 10, 4],
        false,
        "Cheerful stripes.",
        &[("Material", "Cotton blend")]
    ),
    product!(
        "hiking-socks",
        "Hiking socks",
        "socks",
        1700,
        0,
        &[GREEN],
        SOCK_SIZES,
        &[6, 0],
        false,
        "Cushioned soles for long walks.",
        &[("Material", "Merino wool blend")]
    ),
    product!(
        "ankle-socks",
        "Ankle socks, three pairs",
        "socks",
        1300,
        0,
        &[WHITE, BLACK],
        SOCK_SIZES,
        &[30, 30, 30, 30],
        false,
        "The everyday pair, times three.",
        &[("Material", "Cotton")]
    ),
    product!(
        "dotted-socks",
        "Polka dot socks",
        "socks",
        1150,
        0,
        &[PINK, NAVY],
        SOCK_SIZES,
        &[2, 8, 0, 5],
        false,
        "Dots, because why not.",
        &[("Material", "Cotton blend")]
    ),
    product!(
        "fuzzy-socks",
        "Fuzzy house socks",
        "socks",
        1250,
        0,
        &[PURPLE],
        ONE,
        &[0],
        false,
        "Sold out for the season.",
        &[("Material", "Polyester fleece")]
    ),
    // Caps
    product!(
        "classic-cap",
        "Classic cap",
        "caps",
        2200,
        0,
        &[NAVY, BLACK, RED],
        ONE,
        &[15, 10, 2],
        true,
        "Six panels, brass buckle.",
        &[("Material", "Cotton twill")]
    ),
    product!(
        "corduroy-cap",
        "Corduroy cap",
        "caps",
        2600,
        0,
        &[ORANGE, GREEN],
        ONE,
        &[5, 7],
        false,
        "Soft corduroy, unstructured.",
        &[("Material", "Corduroy")]
    ),
    product!(
        "trucker-cap",
        "Trucker cap",
        "caps",
        1900,
        0,
        &[WHITE, BLUE],
        ONE,
        &[0, 9],
        false,
        "Mesh back keeps you cool.",
        &[("Material", "Cotton and mesh")]
    ),
    product!(
        "wool-cap",
        "Wool cap",
        "caps",
        2900,
        0,
        &[GREY],
        ONE,
        &[3],
        false,
        "For colder days.",
        &[("Material", "Wool")]
    ),
    product!(
        "sun-hat",
        "Sun hat",
        "caps",
        2400,
        0,
        &[YELLOW],
        ONE,
        &[8],
        false,
        "Wide brim, packable.",
        &[("Material", "Cotton")]
    ),
    product!(
        "kids-cap",
        "Kids cap",
        "caps",
        1500,
        0,
        &[TEAL, PINK],
        ONE,
        &[10, 0],
        false,
        "Sized for small heads.",
        &[("Material", "Cotton twill")]
    ),
    // Bags
    product!(
        "canvas-tote",
        "Canvas tote",
        "bags",
        1800,
        0,
        &[WHITE, BLACK],
        ONE,
        &[40, 25],
        true,
        "Heavy canvas with long handles.",
        &[("Material", "Cotton canvas")]
    ),
    product!(
        "daypack",
        "Daypack",
        "bags",
        5900,
        0,
        &[NAVY, GREEN, BLACK],
        ONE,
        &[6, 3, 0],
        true,
        "20 litres, padded laptop sleeve.",
        &[("Volume", "20 l")]
    ),
    product!(
        "market-bag",
        "Market bag",
        "bags",
        1500,
        0,
        &[ORANGE],
        ONE,
        &[12],
        false,
        "Folds into its own pocket.",
        &[("Material", "Recycled nylon")]
    ),
    product!(
        "laptop-sleeve",
        "Laptop sleeve",
        "bags",
        3200,
        0,
        &[GREY, BLUE],
        &["13 in", "15 in"],
        &[5, 5, 0, 2],
        false,
        "Felt sleeve with a magnetic flap.",
        &[("Material", "Wool felt")]
    ),
    product!(
        "weekender",
        "Weekender bag",
        "bags",
        8900,
        0,
        &[BLACK],
        ONE,
        &[0],
        false,
        "Sold out; the next run is on its way.",
        &[("Volume", "40 l")]
    ),
    product!(
        "pencil-case",
        "Pencil case",
        "bags",
        1100,
        0,
        &[RED, YELLOW, PURPLE],
        ONE,
        &[9, 14, 6],
        false,
        "Zipped case for pens and pencils.",
        &[("Material", "Cotton canvas")]
    ),
];

/// An SVG drawing of a product of `shape` in `colour`, as a `data:` URL.
pub fn image(shape: Shape, colour: &str, label: &str) -> String {
    let body = match shape {
        Shape::Mug => format!(
            r##"<rect x="70" y="80" width="120" height="140" rx="14" fill="{colour}"/><path d="M190 115 h22 a26 26 0 0 1 0 52 h-22" fill="none" stroke="{colour}" stroke-width="14"/><ellipse cx="130" cy="82" rx="60" ry="10" fill="#00000022"/>"##
        ),
        Shape::Shirt => format!(
            r##"<path d="M95 60 l-55 30 20 45 25-12 v120 h110 v-120 l25 12 20-45 -55-30 q-35 25-90 0z" fill="{colour}"/><path d="M110 62 q20 18 40 0" fill="none" stroke="#00000033" stroke-width="5"/>"##
        ),
        Shape::Poster => format!(
            r##"<rect x="60" y="40" width="140" height="190" fill="#fffdf8" stroke="#333" stroke-width="6"/><circle cx="130" cy="115" r="38" fill="{colour}"/><rect x="80" y="170" width="100" height="35" fill="{colour}" opacity=".55"/>"##
        ),
        Shape::Notebook => format!(
            r##"<rect x="70" y="45" width="130" height="180" rx="10" fill="{colour}"/><rect x="60" y="60" width="18" height="150" rx="4" fill="#00000033"/><rect x="95" y="80" width="80" height="26" rx="4" fill="#ffffffcc"/>"##
        ),
        Shape::Socks => format!(
            r##"<path d="M90 40 h50 v110 q0 40-40 55 l-25 10 q-30 10-35-20 q-4-25 25-35 l25-10z" fill="{colour}"/><rect x="90" y="40" width="50" height="22" fill="#ffffff88"/>"##
        ),
        Shape::Cap => format!(
            r##"<path d="M60 160 q5-90 80-90 q75 0 80 90z" fill="{colour}"/><path d="M140 160 h95 q10 0 5 10 q-8 14-100 8z" fill="{colour}"/><circle cx="140" cy="72" r="7" fill="#00000044"/>"##
        ),
        Shape::Bag => format!(
            r##"<path d="M95 95 q0-45 35-45 q35 0 35 45" fill="none" stroke="#333" stroke-width="9"/><rect x="65" y="95" width="130" height="140" rx="12" fill="{colour}"/>"##
        ),
    };
    let label: String = label
        .chars()
        .filter(|c| !matches!(c, '<' | '>' | '&' | '"'))
        .collect();
    let svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 260 260" role="img" aria-label="{label}"><rect width="260" height="260" fill="#f5f6f9"/>{body}</svg>"##
    );
    format!("data:image/svg+xml;base64,{}", STANDARD.encode(svg))
}
