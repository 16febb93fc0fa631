# Vendor formula (Ruby): OpenSSL::HMAC.hexdigest('sha256', secret, identifier)
require 'openssl'
require 'json'
inputs = JSON.parse(File.read(ARGV[0], encoding: 'UTF-8'))
inputs['secrets'].each_with_index do |secret, s|
  inputs['identifiers'].each_with_index do |identifier, i|
    puts "#{s}\t#{i}\t#{OpenSSL::HMAC.hexdigest('sha256', secret, identifier)}"
  end
end
