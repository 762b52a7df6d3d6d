<?php
/*
 * Plugin Name: Broadsheet e2e harness
 * Description: Installed as a must-use plugin by tests/e2e/wpserver.py. Keeps the throwaway
 *              test site quiet and deterministic.
 */

// Never send mail (install notice, comment notifications). mu-plugins load before
// pluggable.php, so this definition wins.
if (!function_exists('wp_mail')) {
    function wp_mail($to, $subject, $message, $headers = '', $attachments = array())
    {
        return true;
    }
}

// Comment flood protection (one comment per 15 s per IP/e-mail) gets in the way of tests
// that post several comments quickly; the harness can keep it (comment_flood=True).
if (!defined('BROADSHEET_COMMENT_FLOOD') || !BROADSHEET_COMMENT_FLOOD) {
    remove_action('check_comment_flood', 'check_comment_flood_db', 10);
    remove_filter('comment_flood_filter', 'wp_throttle_comment_flood', 10);
}

// No outgoing HTTP at all except to loopback (WP_HTTP_BLOCK_EXTERNAL already allows only
// the site's own host; this is belt and braces).
add_filter('pre_http_request', function ($pre, $args, $url) {
    $host = strtolower((string) wp_parse_url($url, PHP_URL_HOST));
    if ($host === 'localhost' || preg_match('/^127\./', $host) || $host === '[::1]' || $host === '::1') {
        return $pre;
    }
    return new WP_Error('broadsheet_blocked', 'Outgoing HTTP is disabled on the e2e site: ' . $url);
}, 1, 3);
