//! The ranking behind `GET /users/{id}/suggestions`, pure: from every booking, movie and
//! showtime, the movies the user has not booked, best first.
//!
//! A movie's `score` is the number of *other* users who booked at least one movie the user
//! booked and who also booked this movie (each such user counts once, however many times they
//! booked it). Ties go to the higher `rating` (a number in a string; an unreadable one ranks
//! last), then the title, then the id, so the order is stable. A user without bookings gets
//! every movie with score 0, best rated first. Ids are compared without regard to case.

use std::{
    cmp::Ordering,
    collections::{BTreeSet, HashMap, HashSet},
};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A booking as the bookings service lists it (only what the ranking reads).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct BookingView {
    /// Who booked.
    pub userid: String,
    /// What they booked (`null` when the booking named none).
    pub movies: Option<Vec<String>>,
}

/// A movie as the movies service lists it; passed through to the answer.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(default)]
pub struct MovieView {
    /// The id (24 hex digits).
    #[schema(required = true)]
    pub id: String,
    /// The title.
    #[schema(required = true)]
    pub title: String,
    /// The director.
    #[schema(required = true)]
    pub director: String,
    /// The rating, e.g. `"8.0"`.
    #[schema(required = true)]
    pub rating: String,
    /// When it was created, as the movies service wrote it.
    #[schema(required = true, format = DateTime)]
    pub createdon: Option<String>,
}

/// A showtime as the showtimes service lists it (only what the ranking reads).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ShowtimeView {
    /// The day, e.g. `2016-08-15`.
    pub date: String,
    /// The movies shown that day.
    pub movies: Option<Vec<String>>,
}

/// One suggested movie: the movie's own fields, its score and the days it is shown.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Suggestion {
    /// The movie, as the movies service answered it.
    #[serde(flatten)]
    pub movie: MovieView,
    /// How many other users with a movie in common booked it.
    pub score: u32,
    /// The days it is shown, in order.
    pub showtimes: Vec<String>,
}

/// The movies `user` has not booked, best first (see the module docs).
pub fn rank(
    user: &str,
    bookings: &[BookingView],
    movies: Vec<MovieView>,
    showtimes: &[ShowtimeView],
) -> Vec<Suggestion> {
    let user = user.to_ascii_lowercase();
    let mut booked_by: HashMap<String, HashSet<String>> = HashMap::new();
    for booking in bookings {
        booked_by
            .entry(booking.userid.to_ascii_lowercase())
            .or_default()
            .extend(
                booking
                    .movies
                    .iter()
                    .flatten()
                    .map(|movie| movie.to_ascii_lowercase()),
            );
    }
    let own = booked_by.remove(&user).unwrap_or_default();

    let mut scores: HashMap<&str, u32> = HashMap::new();
    for theirs in booked_by.values() {
        if theirs.is_disjoint(&own) {
            continue;
        }
        for movie in theirs.difference(&own) {
            *scores.entry(movie.as_str()).or_default() += 1;
        }
    }

    let mut days: HashMap<String, BTreeSet<&str>> = HashMap::new();
    for showtime in showtimes {
        for movie in showtime.movies.iter().flatten() {
            days.entry(movie.to_ascii_lowercase())
                .or_default()
                .insert(showtime.date.as_str());
        }
    }

    let mut suggestions: Vec<Suggestion> = movies
        .into_iter()
        .filter_map(|movie| {
            let key = movie.id.to_ascii_lowercase();
            if own.contains(&key) {
                return None;
            }
            let showtimes = days
                .get(&key)
                .map(|dates| dates.iter().map(|date| (*date).to_owned()).collect())
                .unwrap_or_default();
            Some(Suggestion {
                score: scores.get(key.as_str()).copied().unwrap_or(0),
                showtimes,
                movie,
            })
        })
        .collect();
    suggestions.sort_by(best_first);
    suggestions
}

/// Higher score, then higher rating, then title, then id.
fn best_first(a: &Suggestion, b: &Suggestion) -> Ordering {
    b.score
        .cmp(&a.score)
        .then_with(|| rating(&b.movie).total_cmp(&rating(&a.movie)))
        .then_with(|| a.movie.title.cmp(&b.movie.title))
        .then_with(|| a.movie.id.cmp(&b.movie.id))
}

/// The rating as a number; unreadable (or not finite) ranks below every real rating.
fn rating(movie: &MovieView) -> f64 {
    movie
        .rating
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|value| value.is_finite())
        .unwrap_or(f64::NEG_INFINITY)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn movie(id: &str, rating: &str) -> MovieView {
        MovieView {
            id: id.to_owned(),
            title: format!("title {id}"),
            rating: rating.to_owned(),
            ..MovieView::default()
        }
    }

    fn booking(user: &str, movies: &[&str]) -> BookingView {
        BookingView {
            userid: user.to_owned(),
            movies: Some(movies.iter().map(|movie| (*movie).to_owned()).collect()),
        }
    }

    fn ids(suggestions: &[Suggestion]) -> Vec<(&str, u32)> {
        suggestions
            .iter()
            .map(|suggestion| (suggestion.movie.id.as_str(), suggestion.score))
            .collect()
    }

    /// The seed of contract §3.3: Manuel booked a, b, c; Ramón a, b, d; Cristina d, b.
    fn seed() -> (Vec<BookingView>, Vec<MovieView>) {
        let bookings = vec![
            booking("manuel", &["a"]),
            booking("manuel", &["b", "c"]),
            booking("ramon", &["a", "b"]),
            booking("ramon", &["d"]),
            booking("cristina", &["d", "b"]),
        ];
        let movies = vec![
            movie("a", "9.2"),
            movie("b", "8.0"),
            movie("c", "7.4"),
            movie("d", "7.7"),
        ];
        (bookings, movies)
    }

    #[test]
    fn co_bookers_rank_what_the_user_has_not_booked() {
        let (bookings, movies) = seed();
        assert_eq!(
            ids(&rank("manuel", &bookings, movies.clone(), &[])),
            [("d", 2)]
        );
        assert_eq!(
            ids(&rank("ramon", &bookings, movies.clone(), &[])),
            [("c", 1)]
        );
        assert_eq!(
            ids(&rank("cristina", &bookings, movies, &[])),
            [("a", 2), ("c", 1)]
        );
    }

    #[test]
    fn ties_go_to_the_higher_rating_then_the_title() {
        let (mut bookings, mut movies) = seed();
        bookings.push(booking("ana", &["b"]));
        assert_eq!(
            ids(&rank("ana", &bookings, movies.clone(), &[])),
            [("a", 2), ("d", 2), ("c", 1)]
        );
        movies.push(movie("e", "not a number"));
        movies.push(movie("f", "7.7"));
        let ranked = rank("nobody", &bookings, movies, &[]);
        assert_eq!(
            ids(&ranked),
            [("a", 0), ("b", 0), ("d", 0), ("f", 0), ("c", 0), ("e", 0)]
        );
    }

    #[test]
    fn a_user_counts_once_however_often_they_booked() {
        let bookings = vec![
            booking("me", &["a"]),
            booking("fan", &["a", "x"]),
            booking("fan", &["x"]),
            booking("fan", &["x"]),
            booking("other", &["a", "y"]),
            booking("other", &["z"]),
        ];
        let movies = vec![movie("x", "1.0"), movie("y", "2.0"), movie("z", "3.0")];
        assert_eq!(
            ids(&rank("me", &bookings, movies, &[])),
            [("z", 1), ("y", 1), ("x", 1)]
        );
    }

    #[test]
    fn users_without_a_movie_in_common_do_not_count() {
        let bookings = vec![booking("me", &["a"]), booking("stranger", &["b"])];
        let movies = vec![movie("a", "1"), movie("b", "2")];
        assert_eq!(ids(&rank("me", &bookings, movies, &[])), [("b", 0)]);
    }

    #[test]
    fn ids_match_without_regard_to_case_and_null_movies_are_skipped() {
        let bookings = vec![
            booking("ABC", &["M1"]),
            BookingView {
                userid: "abc".to_owned(),
                movies: None,
            },
            booking("xyz", &["m1", "m2"]),
        ];
        let movies = vec![movie("m1", "1"), movie("m2", "2")];
        assert_eq!(ids(&rank("aBc", &bookings, movies, &[])), [("m2", 1)]);
    }

    #[test]
    fn movies_booked_but_gone_from_the_catalogue_are_not_suggested() {
        let bookings = vec![booking("me", &["a"]), booking("you", &["a", "deleted"])];
        let movies = vec![movie("a", "1")];
        assert!(rank("me", &bookings, movies, &[]).is_empty());
    }

    #[test]
    fn each_suggestion_lists_its_days_in_order_once() {
        let showtimes = vec![
            ShowtimeView {
                date: "2016-08-18".to_owned(),
                movies: Some(vec!["a".to_owned(), "b".to_owned()]),
            },
            ShowtimeView {
                date: "2016-08-15".to_owned(),
                movies: Some(vec!["A".to_owned()]),
            },
            ShowtimeView {
                date: "2016-08-15".to_owned(),
                movies: Some(vec!["a".to_owned()]),
            },
            ShowtimeView {
                date: "2016-08-16".to_owned(),
                movies: None,
            },
        ];
        let ranked = rank(
            "me",
            &[],
            vec![movie("a", "1"), movie("c", "2")],
            &showtimes,
        );
        assert_eq!(ranked[0].movie.id, "c");
        assert!(ranked[0].showtimes.is_empty());
        assert_eq!(ranked[1].showtimes, ["2016-08-15", "2016-08-18"]);
    }

    #[test]
    fn a_suggestion_is_the_movie_with_score_and_showtimes() {
        let suggestion = Suggestion {
            movie: MovieView {
                id: "57b37c7b377dd100054f9f94".to_owned(),
                title: "Fresa y Chocolate".to_owned(),
                director: "Tomás Gutiérrez Alea".to_owned(),
                rating: "7.7".to_owned(),
                createdon: Some("2016-08-16T22:00:00Z".to_owned()),
            },
            score: 2,
            showtimes: vec!["2016-08-17".to_owned()],
        };
        assert_eq!(
            serde_json::to_string(&suggestion).unwrap_or_default(),
            r#"{"id":"57b37c7b377dd100054f9f94","title":"Fresa y Chocolate","director":"Tomás Gutiérrez Alea","rating":"7.7","createdon":"2016-08-16T22:00:00Z","score":2,"showtimes":["2016-08-17"]}"#
        );
    }
}
