# Webhook formula (Ruby): OpenSSL::HMAC.hexdigest("SHA256", secret, "#{t}.#{body}")
require "json"
require "openssl"
inputs = JSON.parse(File.read(ARGV[0], encoding: "utf-8"))
inputs["secrets"].each_with_index do |secret, s|
  inputs["timestamps"].each_with_index do |t, ti|
    inputs["bodies"].each_with_index do |body, b|
      puts "#{s}\t#{ti}\t#{b}\t#{OpenSSL::HMAC.hexdigest("SHA256", secret, "#{t}.#{body}")}"
    end
  end
end
