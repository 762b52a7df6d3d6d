<?php
/*
 * Bulk seeding in ONE PHP process (see WordPress.seed_bulk() in wpserver.py).
 * stdin: {"posts": int, "comments": int, "categories": int|[names], "body_bytes": int,
 *         "seed": int, "interval_minutes": int, "reply_ratio": float, "held_ratio": float,
 *         "author": int, "via_api": bool}
 *
 * Posts are published one every interval_minutes, the newest interval_minutes before now
 * (site-local dates); comments fall between their post's date and now; about reply_ratio of
 * them answer an earlier approved comment on the same post.
 *
 * via_api=false (default): rows are written with multi-row INSERTs exactly as
 * wp_insert_post()/wp_insert_comment() would write them (slug, guid, GMT dates, modified =
 * date, term relationships, comment_count, term counts) — about 10x faster.
 * via_api=true: wp_insert_post()/wp_insert_comment() per row (all hooks run).
 */
require __DIR__ . '/load.php';

$in = broadsheet_input();
$t0 = microtime(true);
mt_srand((int) $in['seed']);
global $wpdb;

// ---- categories (always through the API: few, and the term caches/options matter)
$category_ids = array();
$category_tt = array();
$names = $in['categories'];
if (is_int($names)) {
    $count = $names;
    $pool = array('World', 'Politics', 'Business', 'Science', 'Technology', 'Health', 'Sport',
        'Culture', 'Opinion', 'Travel', 'Climate', 'Education', 'Local', 'Media', 'Books', 'Music');
    $names = array();
    for ($i = 0; $i < $count; $i++) {
        $names[] = $pool[$i % count($pool)] . ($i >= count($pool) ? ' ' . (intdiv($i, count($pool)) + 1) : '');
    }
}
$names = array_values($names);
$top_count = max(1, (int) ceil(count($names) / 2));
foreach ($names as $i => $name) {
    // The first half are top-level, the rest children of them ("World > Sport").
    $parent = $i < $top_count ? 0 : $category_ids[$i % $top_count];
    $term = term_exists($name, 'category', $parent);
    if (!$term) {
        $term = broadsheet_check(wp_insert_term(wp_slash($name), 'category', array('parent' => $parent)), "wp_insert_term($name)");
    }
    $category_ids[] = (int) $term['term_id'];
    $category_tt[] = (int) $term['term_taxonomy_id'];
}
if (!$category_ids) {
    $category_ids[] = (int) get_option('default_category');
    $category_tt[] = (int) get_term($category_ids[0], 'category')->term_taxonomy_id;
}
$timings = array('categories' => round(microtime(true) - $t0, 3));

// ---- text generation
$words = explode(' ', 'the a of and to in is that for on with as by at from this it be are was were ' .
    'council minister report market city river school station harbour weather election budget ' .
    'research hospital museum festival railway village bridge court police energy water ' .
    'announced said expected according residents officials plans new old local national early late ' .
    'week year month morning evening government company workers students visitors season record ' .
    'increase decrease support opposition proposal decision investigation agreement community ' .
    'Zürich São café naïve façade Ålesund Łódź');
function broadsheet_sentence($words, $min = 6, $max = 18)
{
    $n = mt_rand($min, $max);
    $last = count($words) - 1;
    $out = array();
    for ($i = 0; $i < $n; $i++) {
        $out[] = $words[mt_rand(0, $last)];
    }
    return ucfirst(implode(' ', $out)) . '.';
}
function broadsheet_paragraph($words)
{
    $out = array();
    for ($i = mt_rand(2, 5); $i > 0; $i--) {
        $s = broadsheet_sentence($words);
        $r = mt_rand(0, 19);
        if ($r === 0) {
            $s = '<strong>' . $s . '</strong>';
        } elseif ($r === 1) {
            $s = '<em>' . $s . '</em>';
        } elseif ($r === 2) {
            $s .= ' <a href="https://example.com/story/' . mt_rand(1, 99999) . '">Read more</a>.';
        }
        $out[] = $s;
    }
    return implode(' ', $out);
}
function broadsheet_body($words, $bytes)
{
    $html = '';
    while (strlen($html) < $bytes) {
        $r = mt_rand(0, 11);
        if ($r === 0) {
            $html .= '<h2>' . rtrim(broadsheet_sentence($words, 3, 7), '.') . "</h2>\n";
        } elseif ($r === 1) {
            $html .= "<ul>\n";
            for ($i = mt_rand(2, 4); $i > 0; $i--) {
                $html .= '<li>' . broadsheet_sentence($words, 3, 8) . "</li>\n";
            }
            $html .= "</ul>\n";
        } elseif ($r === 2) {
            $html .= '<blockquote><p>' . broadsheet_sentence($words) . "</p></blockquote>\n";
        } else {
            $html .= '<p>' . broadsheet_paragraph($words) . "</p>\n";
        }
    }
    return $html;
}

// ---- generate everything first (so both write paths store the same data)
$t1 = microtime(true);
$now = current_time('timestamp'); // site-local "timestamp", as WordPress uses it
$interval = max(1, (int) $in['interval_minutes']) * 60;
$n_posts = (int) $in['posts'];
$posts = array();
for ($i = 0; $i < $n_posts; $i++) {
    $ts = $now - ($n_posts - $i) * $interval;
    $cats = array(mt_rand(0, count($category_ids) - 1));
    if (mt_rand(0, 3) === 0) {
        $cats[] = mt_rand(0, count($category_ids) - 1);
    }
    $posts[] = array(
        'title' => rtrim(broadsheet_sentence($words, 4, 10), '.') . ' #' . ($i + 1),
        'content' => broadsheet_body($words, (int) $in['body_bytes']),
        'ts' => $ts,
        'date' => gmdate('Y-m-d H:i:s', $ts),
        'cats' => array_values(array_unique($cats)),
        'comment_count' => 0,
    );
}
$n_comments = $n_posts > 0 ? (int) $in['comments'] : 0;
$reply_ratio = (float) $in['reply_ratio'];
$held_ratio = (float) $in['held_ratio'];
$authors = array('Ada', 'Brian', 'Chidi', 'Dörte', 'Eun-ji', 'Farah', 'Gus', 'Hana', 'Ivo', 'Jun');
$comments = array();
$approved_of_post = array(); // post index => approved comment indexes
$last_ts = array();
for ($i = 0; $i < $n_comments; $i++) {
    $p = mt_rand(0, $n_posts - 1);
    $ts = min($now, (isset($last_ts[$p]) ? $last_ts[$p] : $posts[$p]['ts']) + mt_rand(30, 3600));
    $last_ts[$p] = $ts;
    $parent = -1;
    if (!empty($approved_of_post[$p]) && mt_rand() / mt_getrandmax() < $reply_ratio) {
        $parent = $approved_of_post[$p][mt_rand(0, count($approved_of_post[$p]) - 1)];
    }
    $author = $authors[mt_rand(0, count($authors) - 1)];
    $approved = (mt_rand() / mt_getrandmax() < $held_ratio) ? '0' : '1';
    if ($approved === '1') {
        $approved_of_post[$p][] = $i;
        $posts[$p]['comment_count']++;
    }
    $comments[] = array(
        'post' => $p,
        'parent' => $parent,
        'author' => $author,
        'email' => strtolower(preg_replace('/[^A-Za-z]/', '', remove_accents($author))) . '@example.com',
        'content' => broadsheet_paragraph($words),
        'date' => gmdate('Y-m-d H:i:s', $ts),
        'approved' => $approved,
    );
}
$timings['generate'] = round(microtime(true) - $t1, 3);

// ---- write
$t1 = microtime(true);
$post_ids = array();
$comment_ids = array();
$author_id = (int) $in['author'];
$home = untrailingslashit(get_option('home'));
$structure = get_option('permalink_structure');
// The guid wp_insert_post() stores: the permalink at insert time.
$guid = function ($id, $date, $slug) use ($home, $structure) {
    if (!$structure) {
        return $home . '/?p=' . $id;
    }
    return $home . str_replace(
        array('%year%', '%monthnum%', '%day%', '%hour%', '%minute%', '%second%', '%postname%', '%post_id%', '%category%', '%author%'),
        array(substr($date, 0, 4), substr($date, 5, 2), substr($date, 8, 2), substr($date, 11, 2), substr($date, 14, 2), substr($date, 17, 2), $slug, $id, 'uncategorized', 'admin'),
        $structure
    );
};

if (!empty($in['via_api'])) {
    remove_action('publish_post', '_publish_post_hook', 5);
    wp_defer_term_counting(true);
    wp_defer_comment_counting(true);
    wp_suspend_cache_invalidation(true);
    $wpdb->query('START TRANSACTION');
    foreach ($posts as $i => $p) {
        $post_ids[] = broadsheet_check(wp_insert_post(wp_slash(array(
            'post_title' => $p['title'],
            'post_content' => $p['content'],
            'post_status' => 'publish',
            'post_type' => 'post',
            'post_author' => $author_id,
            'post_date' => $p['date'],
            'post_date_gmt' => get_gmt_from_date($p['date']),
            'post_category' => array_map(function ($c) use ($category_ids) { return $category_ids[$c]; }, $p['cats']),
            'comment_status' => 'open',
            'ping_status' => 'closed',
        )), true), 'wp_insert_post');
        if ($i % 200 === 199) {
            wp_cache_flush();
        }
    }
    foreach ($comments as $i => $c) {
        $comment_ids[] = broadsheet_check(wp_insert_comment(wp_slash(array(
            'comment_post_ID' => $post_ids[$c['post']],
            'comment_parent' => $c['parent'] < 0 ? 0 : $comment_ids[$c['parent']],
            'comment_author' => $c['author'],
            'comment_author_email' => $c['email'],
            'comment_author_url' => '',
            'comment_author_IP' => '127.0.0.1',
            'comment_agent' => 'broadsheet-e2e-seed',
            'comment_content' => $c['content'],
            'comment_date' => $c['date'],
            'comment_date_gmt' => get_gmt_from_date($c['date']),
            'comment_approved' => $c['approved'],
            'comment_type' => 'comment',
            'user_id' => 0,
        ))), 'wp_insert_comment');
        if ($i % 500 === 499) {
            wp_cache_flush();
        }
    }
    $wpdb->query('COMMIT');
    wp_suspend_cache_invalidation(false);
    wp_defer_term_counting(false);    // recounts the deferred terms
    wp_defer_comment_counting(false); // recounts comment_count of the touched posts
} else {
    $q = function ($v) {
        return "'" . esc_sql((string) $v) . "'";
    };
    $wpdb->query('START TRANSACTION');
    $next_post = (int) $wpdb->get_var("SELECT COALESCE(MAX(ID), 0) + 1 FROM $wpdb->posts");
    $next_comment = (int) $wpdb->get_var("SELECT COALESCE(MAX(comment_ID), 0) + 1 FROM $wpdb->comments");
    foreach ($posts as $i => $p) {
        $post_ids[] = $next_post + $i;
    }
    foreach ($comments as $i => $c) {
        $comment_ids[] = $next_comment + $i;
    }
    $batch = 100;
    for ($start = 0; $start < $n_posts; $start += $batch) {
        $rows = array();
        $rels = array();
        foreach (array_slice($posts, $start, $batch, true) as $i => $p) {
            $id = $post_ids[$i];
            $gmt = get_gmt_from_date($p['date']);
            $slug = sanitize_title($p['title']);
            $rows[] = '(' . implode(',', array(
                $id, $author_id, $q($p['date']), $q($gmt), $q($p['content']), $q($p['title']), "''",
                "'publish'", "'open'", "'closed'", "''",
                $q($slug), "''", "''", $q($p['date']), $q($gmt), "''", 0,
                $q($guid($id, $p['date'], $slug)), 0, "'post'", "''", $p['comment_count'],
            )) . ')';
            foreach ($p['cats'] as $c) {
                $rels[] = '(' . $id . ',' . $category_tt[$c] . ',0)';
            }
        }
        broadsheet_check($wpdb->query(
            "INSERT INTO $wpdb->posts (ID, post_author, post_date, post_date_gmt, post_content, post_title,"
            . " post_excerpt, post_status, comment_status, ping_status, post_password, post_name, to_ping,"
            . " pinged, post_modified, post_modified_gmt, post_content_filtered, post_parent, guid,"
            . " menu_order, post_type, post_mime_type, comment_count) VALUES " . implode(',', $rows)
        ) !== false ?: false, 'INSERT posts: ' . $wpdb->last_error);
        broadsheet_check($wpdb->query(
            "INSERT INTO $wpdb->term_relationships (object_id, term_taxonomy_id, term_order) VALUES "
            . implode(',', $rels)
        ) !== false ?: false, 'INSERT term_relationships: ' . $wpdb->last_error);
    }
    $batch = 500;
    for ($start = 0; $start < $n_comments; $start += $batch) {
        $rows = array();
        foreach (array_slice($comments, $start, $batch, true) as $i => $c) {
            $rows[] = '(' . implode(',', array(
                $comment_ids[$i], $post_ids[$c['post']], $q($c['author']), $q($c['email']), "''",
                "'127.0.0.1'", $q($c['date']), $q(get_gmt_from_date($c['date'])), $q($c['content']), 0,
                $q($c['approved']), "'broadsheet-e2e-seed'", "'comment'",
                $c['parent'] < 0 ? 0 : $comment_ids[$c['parent']], 0,
            )) . ')';
        }
        broadsheet_check($wpdb->query(
            "INSERT INTO $wpdb->comments (comment_ID, comment_post_ID, comment_author, comment_author_email,"
            . " comment_author_url, comment_author_IP, comment_date, comment_date_gmt, comment_content,"
            . " comment_karma, comment_approved, comment_agent, comment_type, comment_parent, user_id)"
            . " VALUES " . implode(',', $rows)
        ) !== false ?: false, 'INSERT comments: ' . $wpdb->last_error);
    }
    $wpdb->query('COMMIT');
    wp_update_term_count_now(array_values(array_unique($category_tt)), 'category');
    clean_term_cache($category_ids, 'category');
    wp_cache_flush();
}
$timings['write'] = round(microtime(true) - $t1, 3);

broadsheet_output(array(
    'posts' => $post_ids,
    'comments' => $comment_ids,
    'categories' => $category_ids,
    'seconds' => round(microtime(true) - $t0, 3),
    'timings' => $timings,
));
