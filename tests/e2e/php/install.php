<?php
/*
 * Installs WordPress without a browser (run with BROADSHEET_WP_INSTALLING=1).
 * stdin: {"title", "admin_user", "admin_email", "admin_password", "permalink_structure",
 *         "options": {name: value, ...}}
 */
require __DIR__ . '/load.php';

$in = broadsheet_input();

if (is_blog_installed()) {
    throw new RuntimeException('WordPress is already installed in this database');
}

$result = wp_install($in['title'], $in['admin_user'], $in['admin_email'], true, '', wp_slash($in['admin_password']));
if (is_wp_error($result) || empty($result['user_id'])) {
    throw new RuntimeException('wp_install failed: ' . print_r($result, true));
}

foreach ($in['options'] as $name => $value) {
    update_option($name, $value);
}

global $wp_rewrite;
$wp_rewrite->set_permalink_structure($in['permalink_structure']);
$wp_rewrite->flush_rules(false);

broadsheet_output(array(
    'user_id' => (int) $result['user_id'],
    'wp_version' => get_bloginfo('version'),
    'home' => home_url('/'),
));
